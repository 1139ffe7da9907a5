/**
 * Self-validating cache values for the crash tests: each embeds its key, a sequence number and the
 * SHA-256 of itself, so a value read back proves by itself that it is whole, unmixed and under the
 * right key.
 */
import { createHash } from 'node:crypto';

/** A value for `key` of about `size` bytes: a JSON line, then its SHA-256 in hex on a line of its own. */
export function makeValue(key: string, seq: number, size: number): Buffer {
  const head = JSON.stringify({ key, seq, fill: '' });
  const fill = String.fromCharCode(97 + (seq % 26)).repeat(Math.max(0, size - head.length - 66));
  const body = JSON.stringify({ key, seq, fill });
  return Buffer.from(`${body}\n${createHash('sha256').update(body).digest('hex')}\n`);
}

/** Why `value` is not a whole value made by makeValue() for `key`, or null when it is. */
export function valueProblem(key: string, value: Buffer): string | null {
  const text = value.toString('utf8');
  if (!text.endsWith('\n')) return `value of ${value.length} bytes does not end with a newline`;
  const split = text.lastIndexOf('\n', text.length - 2);
  if (split < 0) return 'no digest line';
  const body = text.slice(0, split);
  if (createHash('sha256').update(body).digest('hex') !== text.slice(split + 1, -1)) return 'digest mismatch';
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  const o = parsed as { key?: unknown; seq?: unknown };
  if (o.key !== key) return `value is for key ${JSON.stringify(o.key)}`;
  if (typeof o.seq !== 'number') return 'no sequence number';
  return null;
}

/** The cache size limit the writer uses; the test reopens with the same. */
export const CRASH_MAX_BYTES = 3 * 1024 * 1024;

/** Keys with characters a file name could not hold, so they only survive through the entry's key field. */
export function crashKey(i: number): string {
  return `client:7f3a/v1/namespaces/edge-${i % 4}/configmaps/cm-${i}?labelSelector=app%3Dé€😀&x=/../\n${i}`;
}
