/**
 * The file operations of the edge-hub cache, each in the order that makes it survive a crash:
 * an entry is written whole to a temporary file in the same filesystem, its times set, fsynced,
 * and only then renamed over the entry's name; the directory is fsynced after renames and unlinks.
 */
import { open, rename, unlink, utimes, type FileHandle } from 'node:fs/promises';

/** Writes every byte of `pieces` at the file's current position, however many calls that takes. */
async function writeAll(fh: FileHandle, pieces: readonly Buffer[]): Promise<void> {
  for (const piece of pieces) {
    let done = 0;
    while (done < piece.length) {
      const { bytesWritten } = await fh.write(piece, done, piece.length - done);
      done += bytesWritten;
    }
  }
}

/**
 * Atomically replaces `path` with `pieces`: writes them to `tmpPath` (created, mode 0600), sets its
 * modification time to `mtimeSeconds` (the entry's last use), fsyncs it and renames it to `path`.
 * After a crash `path` holds either its old content or the new one, never a mix. The directory is
 * not fsynced here: the caller does it once for a batch (`fsyncDir`). On failure the temporary file
 * is removed and the error rethrown.
 */
export async function writeFileAtomically(path: string, tmpPath: string, pieces: readonly Buffer[], mtimeSeconds: number): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmpPath, 'wx', 0o600);
    await writeAll(fh, pieces);
    await fh.utimes(mtimeSeconds, mtimeSeconds);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmpPath, path);
  } catch (err) {
    await fh?.close().catch(() => {});
    await unlink(tmpPath).catch(() => {});
    throw err;
  }
}

/** Removes `path`; a file already gone is no error. */
export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Makes the names in directory `path` durable (created, renamed, removed entries). */
export async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Sets `path`'s access and modification times; a file gone meanwhile is no error. Not fsynced: recency is a hint. */
export async function touchFile(path: string, seconds: number): Promise<void> {
  try {
    await utimes(path, seconds, seconds);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** `err` as one line for an event or a log: its code, if any, and its message. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
