/**
 * The snapshot: the last good set of cluster objects, kept in the state directory so the
 * controller can serve when it starts without an API server. Written atomically (temporary file,
 * fsync, rename) and readable by the owner only: it holds TLS private keys. Read back whole or
 * not at all: a file that does not parse or check is reported and ignored.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../haproxy/files.js';
import { KINDS, type StoredObject } from '../../store/objects.js';
import { isRecord } from '../../translate/json.js';

export const SNAPSHOT_FORMAT = 'gatehouse.io/snapshot/v1';

export type SnapshotRead =
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string }
  | { status: 'ok'; objects: StoredObject[]; writtenAt: string };

/** The objects as the snapshot stores them (JSON, without file positions). */
function objectsText(objects: readonly StoredObject[]): string {
  return JSON.stringify(objects.map(({ origin: _origin, ...o }) => o));
}

function snapshotText(objectsJson: string, writtenAt: Date): string {
  return `{"format":${JSON.stringify(SNAPSHOT_FORMAT)},"writtenAt":${JSON.stringify(writtenAt.toISOString())},"objects":${objectsJson}}\n`;
}

export function writeSnapshot(path: string, objects: readonly StoredObject[], writtenAt = new Date()): void {
  writeFileAtomic(path, snapshotText(objectsText(objects), writtenAt));
}

/** Writes the snapshot when the objects differ from the ones it last wrote. */
export class SnapshotWriter {
  #last = '';

  constructor(readonly path: string) {}

  /** True when it wrote; throws when writing fails (the next call tries again). */
  write(objects: readonly StoredObject[]): boolean {
    const text = objectsText(objects);
    if (text === this.#last) return false;
    writeFileAtomic(this.path, snapshotText(text, new Date()));
    this.#last = text;
    return true;
  }
}

function isStringMap(v: unknown): boolean {
  return isRecord(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Why `o` is not a StoredObject, or null when it is one. */
function objectProblem(o: unknown, i: number): string | null {
  if (!isRecord(o)) return `objects[${i}] is not an object`;
  const kind = o['kind'];
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(KINDS, kind)) return `objects[${i}].kind ${JSON.stringify(kind)} is not a kind gatehouse reads`;
  for (const f of ['apiVersion', 'namespace', 'name'] as const) {
    if (typeof o[f] !== 'string') return `objects[${i}].${f} is not a string`;
  }
  if (o['name'] === '') return `objects[${i}].name is empty`;
  if (o['creationTimestamp'] !== undefined && typeof o['creationTimestamp'] !== 'string') return `objects[${i}].creationTimestamp is not a string`;
  if (!isStringMap(o['annotations']) || !isStringMap(o['labels'])) return `objects[${i}] annotations or labels are not string maps`;
  if (!isRecord(o['raw'])) return `objects[${i}].raw is not an object`;
  return null;
}

export function readSnapshot(path: string): SnapshotRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return { status: 'corrupt', reason: `it cannot be read: ${(e as Error).message}` };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { status: 'corrupt', reason: `it is not valid JSON (${(e as Error).message})` };
  }
  if (!isRecord(data) || data['format'] !== SNAPSHOT_FORMAT) return { status: 'corrupt', reason: `it does not start with format "${SNAPSHOT_FORMAT}"` };
  if (typeof data['writtenAt'] !== 'string' || Number.isNaN(Date.parse(data['writtenAt']))) return { status: 'corrupt', reason: 'writtenAt is not a time' };
  const objects = data['objects'];
  if (!Array.isArray(objects)) return { status: 'corrupt', reason: 'objects is not a list' };
  for (let i = 0; i < objects.length; i++) {
    const problem = objectProblem(objects[i], i);
    if (problem) return { status: 'corrupt', reason: problem };
  }
  return { status: 'ok', objects: objects as StoredObject[], writtenAt: data['writtenAt'] };
}
