import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { FLOW_LINE_MAX } from '../haproxy/render.js';

/**
 * HAProxy sends lines as they come, a few at a time; reading each small chunk at once costs a wake-up and
 * a read per few lines. After a chunk smaller than BATCH_BYTES the socket rests BATCH_WAIT_MS, so that
 * the next read takes what came meanwhile in one go. Under more load than that, chunks come full and
 * reading never rests; lines wait at most a few ms, far below what HAProxy's ring (4 MiB) holds.
 */
const BATCH_BYTES = 16 * 1024;
const BATCH_WAIT_MS = 2;

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
    let resting: NodeJS.Timeout | undefined;
    socket.on('close', () => clearTimeout(resting));
    socket.on('data', (chunk: Buffer) => {
      read(chunk);
      if (chunk.length >= BATCH_BYTES || socket.destroyed) return;
      socket.pause();
      resting = setTimeout(() => socket.resume(), BATCH_WAIT_MS);
    });
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

const SPACE = 0x20;
const NEWLINE = 0x0a;
const MAX_FRAME = FLOW_LINE_MAX + 512;

/**
 * A reader of octet-counted frames: feed it chunks, it calls `onFrame` with each whole message (without
 * its final newline). Each message is decoded straight from the chunk; only a frame cut by the chunk's
 * end is copied, once, when the next chunk completes it.
 */
export function octetCounted(onFrame: (text: string) => void, onError: (why: string) => void): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  let broken = false;
  return (chunk) => {
    if (broken) return;
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    let at = 0;
    while (at < buf.length) {
      const space = buf.indexOf(SPACE, at);
      if (space === -1) {
        if (buf.length - at > 8) return fail(`no message length in ${JSON.stringify(buf.subarray(at, at + 16).toString('latin1'))}`);
        pending = buf.subarray(at);
        return;
      }
      const length = messageLength(buf, at, space);
      if (length === undefined) return fail(`bad message length ${JSON.stringify(buf.subarray(at, space).toString('latin1').slice(0, 16))}`);
      const end = space + 1 + length;
      if (buf.length < end) {
        pending = buf.subarray(at);
        return;
      }
      onFrame(buf.toString('utf8', space + 1, buf[end - 1] === NEWLINE ? end - 1 : end));
      at = end;
    }
  };
  function fail(why: string): void {
    broken = true;
    onError(why);
  }
}

/** The decimal length in `buf[from, to)`: 1 to 6 digits, no leading zero, at most MAX_FRAME. */
function messageLength(buf: Buffer, from: number, to: number): number | undefined {
  if (to === from || to - from > 6 || buf[from] === 0x30) return undefined;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n <= MAX_FRAME ? n : undefined;
}
