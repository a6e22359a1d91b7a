/**
 * Test support: Debian's clickhouse-server (18.16) on loopback from a temporary configuration,
 * ready when it answers `SELECT 1` over HTTP; optionally in a cluster of several servers (each
 * a shard) for Distributed tables. Stopped with SIGTERM; its directory removed.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './listening.ts';
import { until } from './wait.ts';

export function findClickHouse(): string | undefined {
  for (const p of ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server', '/usr/bin/clickhouse'])
    if (existsSync(p)) return p;
  return undefined;
}

export interface ClickHousePorts {
  http: number;
  tcp: number;
}

export interface RunningClickHouse {
  readonly ports: ClickHousePorts;
  readonly dir: string;
  /** `clickhouse://127.0.0.1:PORT/DB` */
  url(db: string): string;
  /** Runs SQL over HTTP and returns the body. */
  sql(query: string): Promise<string>;
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  output(): string;
  /** The server's process id (while it runs). */
  pid(): number | undefined;
}

export async function clickHousePorts(): Promise<ClickHousePorts> {
  return { http: await freePort(), tcp: await freePort() };
}

/** Starts one server; `cluster` lists the shards (this server's ports among them) of cluster NAME. */
export async function startClickHouse(
  binary: string,
  ports: ClickHousePorts,
  cluster?: { name: string; shards: readonly ClickHousePorts[] },
): Promise<RunningClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), 'logtally-clickhouse-'));
  for (const d of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dir, d));
  const remote = cluster
    ? `<remote_servers><${cluster.name}>${cluster.shards
        .map((s) => `<shard><replica><host>127.0.0.1</host><port>${s.tcp}</port></replica></shard>`)
        .join('')}</${cluster.name}></remote_servers>`
    : '';
  writeFileSync(
    join(dir, 'config.xml'),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${ports.http}</http_port>
  <tcp_port>${ports.tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  ${remote}
</yandex>
`,
  );
  writeFileSync(
    join(dir, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`,
  );
  let child: ChildProcess | undefined;
  let out = '';
  const sql = async (query: string): Promise<string> => {
    const r = await fetch(`http://127.0.0.1:${ports.http}/`, { method: 'POST', body: query });
    const body = await r.text();
    if (!r.ok) throw new Error(`clickhouse: ${body}`);
    return body;
  };
  const start = async () => {
    child = spawn(binary, [`--config-file=${join(dir, 'config.xml')}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir,
    });
    const c = child;
    c.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    c.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await until(
      `clickhouse-server on ${ports.http}`,
      async () => {
        if (c.exitCode !== null) throw new Error(`exited with ${c.exitCode}: ${out.slice(-2000)}`);
        return (await sql('SELECT 1')).trim() === '1' ? true : undefined;
      },
      60_000,
      100,
    );
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  };
  await start();
  return {
    ports,
    dir,
    url: (db) => `clickhouse://127.0.0.1:${ports.http}/${db}`,
    sql,
    start,
    async stop() {
      await stop();
    },
    output: () => out,
    pid: () => child?.pid,
  };
}

/** Stops a server and removes its directory. */
export async function removeClickHouse(ch: RunningClickHouse | undefined): Promise<void> {
  if (!ch) return;
  await ch.stop();
  rmSync(ch.dir, { recursive: true, force: true });
}
