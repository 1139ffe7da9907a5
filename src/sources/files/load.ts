import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Diagnostic } from '../../model/diagnostic.js';
import { displayName, objectKey, type Origin, type StoredObject } from '../../store/objects.js';
import { ParsedDocuments } from './documents.js';
import { lineAtPath, parseFieldPath, type LocatedNode } from './parse.js';

/**
 * Where a field of a loaded object is written: `file:line` of the deepest part of the field path
 * that exists in the file (the object's first line if none does), or undefined for an object that
 * was not loaded from these files.
 */
export type FieldLocator = (object: { kind: string; namespace: string; name: string }, field: string) => Origin | undefined;

export interface LoadResult {
  /** In the order read: paths as given, each directory's files sorted by name, documents in order. */
  objects: StoredObject[];
  diagnostics: Diagnostic[];
  /** The files read, as displayed (the path as given, joined with the file name for directories). */
  files: string[];
  locate: FieldLocator;
}

/** Thrown for a path that does not exist or cannot be read; the CLI prints it and exits 2. */
export class ManifestPathError extends Error {
  override name = 'ManifestPathError';
}

/** A directory's manifest files: `*.yaml` and `*.yml` (any case), not hidden, not in subdirectories. */
export function isManifestFileName(name: string): boolean {
  return !name.startsWith('.') && /\.ya?ml$/i.test(name);
}

/**
 * The files behind `paths`: a file is read whatever its name; a directory means its `.yaml`/`.yml`
 * files (symlinks followed, as in a mounted ConfigMap), sorted by name, without recursing into
 * subdirectories (so a directory of manifests can hold unrelated subfolders). Each file once, even
 * when named twice. Throws ManifestPathError for a path that does not exist.
 */
export async function manifestFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (display: string): void => {
    const abs = resolve(display);
    if (seen.has(abs)) return;
    seen.add(abs);
    files.push(display);
  };
  for (const p of paths) {
    const st = await stat(p).catch((e: NodeJS.ErrnoException) => {
      throw new ManifestPathError(
        e.code === 'ENOENT'
          ? `manifest path ${JSON.stringify(p)} does not exist: give a YAML file or a directory of them`
          : `cannot read manifest path ${JSON.stringify(p)}: ${e.message}`,
      );
    });
    if (!st.isDirectory()) {
      add(p);
      continue;
    }
    const names = (await readdir(p).catch((e: NodeJS.ErrnoException) => {
      throw new ManifestPathError(`cannot list manifest directory ${JSON.stringify(p)}: ${e.message}`);
    })).filter(isManifestFileName).sort(byCodeUnit);
    for (const name of names) {
      const full = join(p, name);
      // Follows symlinks; an entry that disappeared since readdir (an editor saving) is skipped.
      const entry = await stat(full).catch(() => undefined);
      if (entry?.isFile()) add(full);
    }
  }
  return files;
}

/**
 * The files read by the last loadManifests, each with its documents, so that reading them again
 * parses only the documents that changed (documents.ts). Files not read the last time are dropped.
 */
let parsedFiles = new Map<string, ParsedDocuments>();

/**
 * Reads every manifest in `paths` (files or directories, see manifestFiles). A bad document is
 * rejected alone with a diagnostic; the rest of its file still loads. Of two objects with the same
 * kind, namespace and name, the first read is kept and the second is rejected. A document read
 * before with the same text gives the same objects as before (documents.ts).
 */
export async function loadManifests(paths: readonly string[]): Promise<LoadResult> {
  const files = await manifestFiles(paths);
  const objects: StoredObject[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Map<string, { origin: Origin; located: () => LocatedNode | undefined }>();
  const readFiles: string[] = [];
  const parsers = new Map<string, ParsedDocuments>();
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') continue; // removed while we were reading: the next event reloads
      throw new ManifestPathError(`cannot read manifest file ${JSON.stringify(file)}: ${err.message}`);
    }
    readFiles.push(file);
    const parser = parsers.get(file) ?? parsedFiles.get(file) ?? new ParsedDocuments();
    parsers.set(file, parser);
    const parsed = parser.parse(text, file);
    diagnostics.push(...parsed.diagnostics);
    for (const o of parsed.objects) {
      const key = objectKey(o);
      const origin = o.origin ?? { file, line: 1 };
      const located = () => parsed.locate(o);
      const first = seen.get(key);
      if (first !== undefined) {
        const node = located();
        const line = node ? lineAtPath(node.lines, node.node, ['metadata', 'name']).line : origin.line;
        diagnostics.push({
          severity: 'error',
          object: { kind: o.kind, namespace: o.namespace, name: o.name, origin: { file: origin.file, line } },
          field: 'metadata.name',
          message: `${o.kind} ${displayName(o)} is already defined at ${first.origin.file}:${first.origin.line}, so this second one is ignored: rename one of them or delete the duplicate.`,
        });
        continue;
      }
      seen.set(key, { origin, located });
      objects.push(o);
    }
  }
  parsedFiles = parsers;
  const locate: FieldLocator = (object, field) => {
    const entry = seen.get(objectKey(object));
    if (entry === undefined || field === '') return entry?.origin;
    const node = entry.located();
    if (node === undefined) return entry.origin;
    const { line } = lineAtPath(node.lines, node.node, parseFieldPath(field));
    return { file: entry.origin.file, line };
  };
  return { objects, diagnostics, files: readFiles, locate };
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
