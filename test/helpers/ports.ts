import { createServer } from 'node:net';

/** Ports handed out by this process: the kernel may offer a just-closed port again, which a caller may not have bound yet. */
const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it for a listener we close at
 * once. Never the same port twice in one process, so several taken in a row for one server differ.
 * Another process could take it before the caller binds it; on loopback in a test that is rare.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await kernelPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}
