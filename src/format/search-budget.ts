/**
 * The work bound of the fallback split search of the parser compiler (`scanner.ts`, every
 * dialect; used when the first occurrences of the anchors do not give a split that converts): one unit per character sliced, converted or
 * scanned while looking for an anchor, plus 16 per candidate tried. A line may cost at most
 * 65 536 + 256 units per byte, and never more than 4 000 000 (a few tens of milliseconds); past
 * that it is refused as ambiguous. So a crafted line costs in proportion to its length, and
 * 200 of them cannot hold a collector for more than a few seconds of CPU in all.
 * @module
 */

export const SEARCH_BUDGET_MAX = 4_000_000;
export const SEARCH_BUDGET_PER_BYTE = 256;
export const SEARCH_BUDGET_BASE = 65_536;

/** Units the search may spend on a line of `length` characters. */
export function searchBudget(length: number): number {
  return Math.min(SEARCH_BUDGET_MAX, SEARCH_BUDGET_BASE + SEARCH_BUDGET_PER_BYTE * length);
}

/** What an anchor search from `from` cost: the characters it looked at. */
export function scanCost(found: number, from: number, length: number): number {
  return (found === -1 ? length : found) - from + 1;
}
