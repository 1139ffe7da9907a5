import { createConnection } from 'node:net';

/**
 * One exchange with an HAProxy CLI socket (the worker's `stats socket` or the master's `-S` socket):
 * connect, send `request`, half-close, read until HAProxy closes. Both sockets answer one request per
 * connection in their default (non-interactive) mode; the master CLI only closes once it has seen our
 * half-close, so we always send it.
 *
 * The answer is returned as HAProxy sent it, possibly empty: the master answers nothing to `reload`
 * (it re-executes itself), the worker answers nothing when it drops a request it could not take (a
 * payload larger than its buffer). Rejects when the connection fails or no complete answer arrives
 * within `timeoutMs`. Only the first line of `request` appears in errors: a payload may hold a key.
 */
export function cliExchange(socketPath: string, request: string, timeoutMs: number): Promise<string> {
  const first = request.split('\n', 1)[0] ?? '';
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const sock = createConnection(socketPath);
    const fail = (why: string, code?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(new CliSocketError(socketPath, first, why, code));
    };
    const timer = setTimeout(() => fail(`no complete answer within ${timeoutMs} ms`), timeoutMs);
    sock.on('connect', () => sock.end(request));
    sock.on('data', (chunk: Buffer) => chunks.push(chunk));
    sock.on('error', (err: NodeJS.ErrnoException) => fail(err.message, err.code));
    sock.on('close', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** A CLI socket could not be reached or did not answer in time (as opposed to an error answer). */
export class CliSocketError extends Error {
  constructor(
    readonly socketPath: string,
    readonly command: string,
    readonly reason: string,
    /** The system error code (`ECONNREFUSED`, `ENOENT`, `EPIPE`, …), if any. */
    readonly code?: string,
  ) {
    super(`HAProxy CLI ${socketPath}: "${command}": ${reason}`);
    this.name = 'CliSocketError';
  }
}

/**
 * One argument of a CLI command line, escaped. HAProxy 2.6 splits a request into commands on `;` and a
 * command into words on spaces and tabs, and drops a backslash before any character (`\\` is one
 * backslash). So `\`, `;`, space and tab are escaped with a backslash. Line breaks end a command and
 * cannot be escaped: they are refused.
 */
export function cliArg(value: string): string {
  if (value === '') throw new Error('an HAProxy CLI argument cannot be empty');
  if (/[\r\n\0]/.test(value)) throw new Error(`an HAProxy CLI argument cannot hold a line break or NUL: ${JSON.stringify(value)}`);
  return value.replace(/[\\; \t]/g, '\\$&');
}
