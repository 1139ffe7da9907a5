/**
 * The on-disk format of one edge-hub cache entry: one file per key, named for the SHA-256 of the key
 * (keys may hold any character), holding the key itself so the index can be rebuilt at start.
 *
 * ```
 * offset  size  field
 *      0     4  magic "GHEC" (Gatehouse Edge Cache)
 *      4     2  format version, big-endian (1)
 *      6     2  flags, big-endian (0; any other value is refused)
 *      8     4  key length in bytes, big-endian
 *     12     4  value length in bytes, big-endian
 *     16    32  SHA-256 of bytes 0..15, then the key, then the value
 *     48     …  the key (UTF-8), then the value
 * ```
 * The file is exactly 48 + key length + value length bytes, so truncation and trailing bytes are
 * seen from the size alone; the checksum covers the header's fields as well as the key and value, so
 * a flipped bit anywhere is seen too.
 */
import { createHash } from 'node:crypto';

export const ENTRY_MAGIC = 'GHEC';
export const ENTRY_VERSION = 1;
export const HEADER_BYTES = 48;
/** Largest value the header can describe (its length field is 32 bits). */
export const MAX_VALUE_BYTES = 0xffffffff;

/**
 * Recency (when an entry was last used) is kept in the file's modification time, in steps of 10 µs.
 * Node hands times to the kernel as a double of seconds, which libuv truncates to whole microseconds:
 * at today's epoch a time can come back 1 µs early. Steps of 10 µs, rounded to the nearest step when
 * read, come back exactly. (A filesystem with coarser timestamps keeps a coarser order; ties are
 * broken by file name.)
 */
export const RECENCY_STEP_US = 10;

/** The modification time, in seconds, that records a last use at `usedUs` (a multiple of RECENCY_STEP_US). */
export function recencyToSeconds(usedUs: number): number {
  return usedUs / 1e6;
}

/** The last use, in microseconds (a multiple of RECENCY_STEP_US), that a modification time in nanoseconds records. */
export function recencyFromMtimeNs(mtimeNs: bigint): number {
  const step = BigInt(RECENCY_STEP_US * 1000);
  return Number((mtimeNs + step / 2n) / step) * RECENCY_STEP_US;
}

/** What a file holds when it is a complete, unchanged entry. */
export interface DecodedEntry {
  key: string;
  value: Buffer;
}

/** Either the entry, or why the bytes are not one (a sentence a person can act on). */
export type DecodeResult = { ok: true; entry: DecodedEntry } | { ok: false; reason: string };

/** The file name of `key`'s entry: 64 lowercase hex digits. */
export function entryFileName(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whether `name` is shaped like an entry file name. */
export function isEntryFileName(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}

/** Size in bytes of the file that holds a key of `keyBytes` UTF-8 bytes and a value of `valueBytes`. */
export function entryFileSize(keyBytes: number, valueBytes: number): number {
  return HEADER_BYTES + keyBytes + valueBytes;
}

function fieldsOf(keyLength: number, valueLength: number): Buffer {
  const fields = Buffer.alloc(16);
  fields.write(ENTRY_MAGIC, 0, 'latin1');
  fields.writeUInt16BE(ENTRY_VERSION, 4);
  fields.writeUInt16BE(0, 6);
  fields.writeUInt32BE(keyLength, 8);
  fields.writeUInt32BE(valueLength, 12);
  return fields;
}

function checksum(fields: Buffer, key: Buffer, value: Buffer): Buffer {
  return createHash('sha256').update(fields).update(key).update(value).digest();
}

/**
 * The bytes of an entry file, as pieces to write one after the other (header, key, value), so a large
 * value is not copied. Throws a RangeError when the value is longer than the format allows.
 */
export function encodeEntry(key: string, value: Buffer): Buffer[] {
  if (value.length > MAX_VALUE_BYTES) throw new RangeError(`cache value of ${value.length} bytes is longer than the ${MAX_VALUE_BYTES} the entry format holds`);
  const keyBytes = Buffer.from(key, 'utf8');
  const fields = fieldsOf(keyBytes.length, value.length);
  return [Buffer.concat([fields, checksum(fields, keyBytes, value)]), keyBytes, value];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What the header announces, or why it is not a header. `size` is the whole file's size in bytes. */
function readHeader(head: Buffer, size: number): { ok: true; keyLength: number; valueLength: number } | { ok: false; reason: string } {
  if (size === 0) return { ok: false, reason: 'empty file (0 bytes): an entry whose write never completed, or a file that is not a cache entry' };
  if (size < HEADER_BYTES) return { ok: false, reason: `truncated: ${size} bytes, shorter than the ${HEADER_BYTES}-byte entry header` };
  if (head.toString('latin1', 0, 4) !== ENTRY_MAGIC) return { ok: false, reason: `not a cache entry: does not start with the "${ENTRY_MAGIC}" magic bytes (a foreign or overwritten file)` };
  const version = head.readUInt16BE(4);
  if (version !== ENTRY_VERSION) return { ok: false, reason: `entry format version ${version}; this gatehouse reads version ${ENTRY_VERSION} (written by another release, or a damaged header)` };
  const flags = head.readUInt16BE(6);
  if (flags !== 0) return { ok: false, reason: `unknown header flags 0x${flags.toString(16)} (written by another release, or a damaged header)` };
  const keyLength = head.readUInt32BE(8);
  const valueLength = head.readUInt32BE(12);
  const expected = entryFileSize(keyLength, valueLength);
  if (size !== expected) {
    return {
      ok: false,
      reason: `size mismatch: the file is ${size} bytes but its header announces ${expected} (${HEADER_BYTES}-byte header + ${keyLength}-byte key + ${valueLength}-byte value): ${size < expected ? 'truncated' : 'trailing bytes'}, or a damaged header`,
    };
  }
  return { ok: true, keyLength, valueLength };
}

function decodeKey(bytes: Buffer): { ok: true; key: string } | { ok: false; reason: string } {
  try {
    return { ok: true, key: utf8.decode(bytes) };
  } catch {
    return { ok: false, reason: 'the key is not valid UTF-8' };
  }
}

/** Decodes and verifies a whole entry file's bytes. */
export function decodeEntry(file: Buffer): DecodeResult {
  const header = readHeader(file, file.length);
  if (!header.ok) return header;
  const keyBytes = file.subarray(HEADER_BYTES, HEADER_BYTES + header.keyLength);
  const value = file.subarray(HEADER_BYTES + header.keyLength);
  const sum = checksum(file.subarray(0, 16), keyBytes, value);
  if (!sum.equals(file.subarray(16, HEADER_BYTES))) {
    return { ok: false, reason: 'checksum mismatch: the content changed after it was written (a flipped bit, or a partial overwrite)' };
  }
  const key = decodeKey(keyBytes);
  if (!key.ok) return key;
  return { ok: true, entry: { key: key.key, value } };
}

/** How many leading bytes `decodeKeyOnly` needs from a file of `size` bytes whose first 48 bytes are `head`. */
export function keyPrefixBytes(head: Buffer, size: number): number {
  const header = readHeader(head, size);
  return header.ok ? HEADER_BYTES + header.keyLength : Math.min(size, HEADER_BYTES);
}

/**
 * The key of an entry from the file's first bytes (header and key, see `keyPrefixBytes`) without
 * reading or verifying the value: for entries removed at start without being loaded.
 */
export function decodeKeyOnly(prefix: Buffer, size: number): { ok: true; key: string } | { ok: false; reason: string } {
  const header = readHeader(prefix, size);
  if (!header.ok) return header;
  return decodeKey(prefix.subarray(HEADER_BYTES, HEADER_BYTES + header.keyLength));
}

/** Why a key cannot be stored, or null. Keys must survive UTF-8 unchanged (no lone surrogates). */
export function keyProblem(key: string): string | null {
  return /\p{Cs}/u.test(key) ? 'the key holds a lone UTF-16 surrogate, which UTF-8 cannot represent; it would not read back the same' : null;
}
