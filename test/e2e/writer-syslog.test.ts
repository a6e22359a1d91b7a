/**
 * syslog datagrams byte-identical to real nginx: nginx (Debian 1.22) and logtally's writer send
 * the same line to UDP listeners in this test, with the same facility, severity, tag and
 * `nohostname`; logtally's clock is set to the second nginx stamped, so the whole datagram —
 * PRI, timestamp, host name, tag, message — must be equal byte for byte.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { compileNginx } from '../../src/format/nginx/compile.ts';
import { createLog } from '../../src/writer/log.ts';
import {
  findNginx,
  freePort,
  type RunningNginx,
  rawRequest,
  startNginx,
  statusOf,
} from '../support/nginx.ts';

const nginx = findNginx();
const skip = nginx ? false : 'nginx is not installed (apt-get install -y nginx); CI installs it';

const FORMAT = '$request $status "$http_user_agent" $request_method';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface Listener {
  socket: Socket;
  port: number;
  next(): Promise<Buffer>;
}

async function listen(): Promise<Listener> {
  const socket = createSocket('udp4');
  const queue: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  socket.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    socket,
    port: socket.address().port,
    next: () => {
      const q = queue.shift();
      if (q) return Promise.resolve(q);
      return new Promise<Buffer>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no datagram within 10 s')), 10_000);
        waiters.push((b) => {
          clearTimeout(t);
          resolve(b);
        });
      });
    },
  };
}

/** The epoch ms of an RFC 3164 timestamp (`Nov 23 17:39:38` or `Nov  2 …`), local time, this year. */
function stampOf(datagram: Buffer): number {
  const m = /^<\d+>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) /.exec(datagram.toString('latin1'));
  assert.ok(m, `RFC 3164 header in ${JSON.stringify(datagram.toString('latin1'))}`);
  const [, mon, day, h, mi, s] = m;
  return new Date(
    new Date().getFullYear(),
    MONTHS.indexOf(mon as string),
    Number(day),
    Number(h),
    Number(mi),
    Number(s),
  ).getTime();
}

const TARGETS = [
  'facility=local3,severity=notice,tag=lt_app',
  'nohostname',
  'facility=daemon,severity=error,tag=x_1,nohostname',
];

describe('syslog: datagrams identical to real nginx', { skip }, () => {
  let server: RunningNginx;
  const theirs: Listener[] = [];
  const ours: Listener[] = [];
  const captured: Buffer[] = [];

  before(async () => {
    for (let i = 0; i < TARGETS.length; i++) {
      theirs.push(await listen());
      ours.push(await listen());
    }
    const port = await freePort();
    const logs = TARGETS.map((p, i) => `access_log syslog:server=127.0.0.1:${theirs[i]?.port},${p} sl;`).join(
      '\n      ',
    );
    server = await startNginx(
      nginx as string,
      `  log_format sl '${FORMAT}';
  server {
    listen 127.0.0.1:${port};
    location / {
      ${logs}
      return 200 "ok";
    }
  }`,
      port,
    );
    const req = Buffer.concat([
      Buffer.from('GET /syslog?q="x"&b=\\ HTTP/1.1\r\nHost: t\r\nUser-Agent: ua \\ "', 'latin1'),
      Buffer.from('é" \x80', 'utf8'),
      Buffer.from([0xff]),
      Buffer.from('\r\nConnection: close\r\n\r\n', 'latin1'),
    ]);
    assert.equal(statusOf(await rawRequest(port, req)), 200);
    for (const l of theirs) captured.push(await l.next());
  });

  after(async () => {
    await server?.stop();
    await server?.cleanup();
    for (const l of [...theirs, ...ours]) l.socket.close();
  });

  for (let i = 0; i < TARGETS.length; i++) {
    it(`syslog:server=…,${TARGETS[i]}`, async () => {
      const nginxDatagram = captured[i] as Buffer;
      const at = stampOf(nginxDatagram);
      const log = createLog(`syslog:server=127.0.0.1:${ours[i]?.port},${TARGETS[i]}`, {
        format: compileNginx(FORMAT),
        clock: () => at + 500,
      });
      log.write({
        request: 'GET /syslog?q="x"&b=\\ HTTP/1.1',
        status: 200,
        // The header's bytes as nginx received them: UTF-8, then a lone \x80 and \xFF (surrogate-escaped).
        http_user_agent: 'ua \\ "é" \u0080\udcff',
        request_method: 'GET',
      });
      const mine = await (ours[i] as Listener).next();
      log.close();
      assert.equal(mine.toString('latin1'), nginxDatagram.toString('latin1'));
      assert.deepEqual(mine, nginxDatagram);
      console.log(`    nginx: ${JSON.stringify(nginxDatagram.toString('latin1'))}`);
    });
  }
});
