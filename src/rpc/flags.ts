/**
 * The transport-security flags every program that speaks gRPC takes.
 * @module
 */
import type { Command } from 'commander';

/** Adds --tls-cert, --tls-key, --tls-ca and --token-file to a command. */
export function addSecurityFlags(cmd: Command): Command {
  return cmd
    .option(
      '--tls-cert <file>',
      'PEM certificate (chain) of this endpoint: enables TLS; also sent to servers for mutual TLS',
    )
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option(
      '--tls-ca <file>',
      'PEM CA bundle: verifies peers; on a listener it also requires client certificates (mutual TLS)',
    )
    .option(
      '--token-file <file>',
      'shared bearer token (one line, at least 16 characters) required by listeners and sent by clients',
    );
}
