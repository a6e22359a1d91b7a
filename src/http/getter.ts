/**
 * The shape of a variable computed from a request.
 * @module
 */
import type { RenderValue } from '../format/types.ts';
import type { RequestState } from './state.ts';

/** Settings the variables read. */
export interface VariableContext {
  /** `$server_name`, and `$host` when the request names none. */
  readonly serverName: string;
}

/** Computes one variable for one finished request. */
export type Getter = (s: RequestState, ctx: VariableContext) => RenderValue;
