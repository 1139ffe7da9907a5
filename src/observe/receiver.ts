import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { FLOW_LINE_MAX } from '../haproxy/render.js';

/**
 * The gateway's end of HAProxy's flow log: a unix socket in the state directory (0700) that HAProxy's
 * ring connects to, with octet-counted messages (`<length> <text>`, RFC 6587). Each worker (a new one
 * per reload) has its own connection. A connection that breaks the framing is closed.
 */
export async function startFlowReceiver(path: string, onLine: (line: string) => void, onProblem: (msg: string) => void): Promise<{ close(): Promise<void> }> {
  rmSync(path, { force: true });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const read = octetCounted(onLine, (why) => {
      onProblem(`flow log: ${why}; the connection is closed and HAProxy opens a new one`);
      socket.destroy();
    });
    socket.on('data', read);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      chmodSync(path, 0o600);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A reader of octet-counted frames: feed it chunks, it calls `onFrame` with each whole message. */
export function octetCounted(onFrame: (text: string) => void, onError: (why: string) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let broken = false;
  return (chunk) => {
    if (broken) return;
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      const space = pending.indexOf(0x20);
      if (space === -1) {
        if (pending.length > 8) fail(`no message length in ${JSON.stringify(pending.subarray(0, 16).toString('latin1'))}`);
        return;
      }
      const digits = pending.subarray(0, space).toString('latin1');
      if (!/^[1-9]\d{0,5}$/.test(digits) || Number(digits) > FLOW_LINE_MAX + 512) return fail(`bad message length ${JSON.stringify(digits.slice(0, 16))}`);
      const end = space + 1 + Number(digits);
      if (pending.length < end) return;
      onFrame(pending.subarray(space + 1, end).toString('utf8').replace(/\n$/, ''));
      pending = pending.subarray(end);
    }
  };
  function fail(why: string): void {
    broken = true;
    onError(why);
  }
}
