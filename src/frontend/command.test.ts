import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frontendCommand } from './command.ts';

describe('logtally frontend', () => {
  it('has the reference flags and defaults, plus --allow-target and the gRPC security flags', () => {
    const cmd = frontendCommand('1.2.3', { code: 0 });
    const defaults = Object.fromEntries(cmd.options.map((o) => [o.long, o.defaultValue]));
    assert.deepEqual(
      {
        listen: defaults['--listen'],
        target: defaults['--target'],
        n: defaults['--n'],
        refresh: defaults['--refresh'],
      },
      { listen: ':8080', target: 'localhost:9091', n: 25, refresh: 30 },
    );
    for (const f of ['--allow-target', '--tls-cert', '--tls-key', '--tls-ca', '--token-file']) {
      assert.ok(f in defaults, f);
    }
    const help = cmd.helpInformation() + cmd.options.map((o) => o.description).join(' ');
    assert.match(help, /0 disables/);
  });

  it('rejects a bad --n or --refresh', async () => {
    for (const argv of [
      ['--n', '0'],
      ['--refresh', '-1'],
      ['--n', 'lots'],
    ]) {
      const cmd = frontendCommand('1.2.3', { code: 0 })
        .exitOverride()
        .configureOutput({ writeErr: () => {} });
      await assert.rejects(cmd.parseAsync(argv, { from: 'user' }), /expected an integer/, argv.join(' '));
    }
  });
});
