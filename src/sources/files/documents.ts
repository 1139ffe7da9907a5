import type { Diagnostic } from '../../model/diagnostic.js';
import type { StoredObject } from '../../store/objects.js';
import { parseManifestText, type LocatedNode } from './parse.js';

/**
 * One manifest file parsed document by document, remembering each document by its text, so that
 * reading the file again after a change parses only the documents that changed: the others give the
 * very same objects as before (the store sees them unchanged at once). Parsing YAML is by far the
 * slowest step of a change otherwise (the yaml package reads about 1 MB/s), and a file of thousands
 * of Ingresses, Services and EndpointSlices would be parsed whole for one changed endpoint.
 *
 * The result is the same as parseManifestText on the whole text. Documents are split at the lines
 * that start with a `---` marker, which YAML does not allow inside any value. A file with a directive
 * (`%YAML`) or a `...` end marker, or with a document that does not parse, is parsed whole, so its
 * objects and diagnostics are exactly those of parseManifestText.
 *
 * The YAML nodes are not kept (they take ten times the memory of the objects): a field is located by
 * parsing its document again, once, when a diagnostic asks for it.
 */
export interface ParsedFile {
  objects: StoredObject[];
  diagnostics: Diagnostic[];
  /** The YAML node of one of `objects`, for finding the line of a field. */
  locate(object: StoredObject): LocatedNode | undefined;
}

interface Chunk {
  text: string;
  /** The line of the file the chunk starts on. */
  firstLine: number;
}

/** What a document (a chunk) gave, at the line it was read at. */
interface Entry {
  text: string;
  firstLine: number;
  objects: StoredObject[];
  diagnostics: Diagnostic[];
  /** The chunk parsed again for its nodes, once a field of one of its objects was located. */
  nodes?: LocatedNode[];
}

const MARKER = /^---(?=[ \t\r\n]|$)/gm;
const WHOLE_ONLY = /^(?:%|\.\.\.(?=[ \t\r\n]|$))/m;

/** The text cut before each `---` line, each part with its first line; null when it must be parsed whole. */
export function splitDocuments(text: string): Chunk[] | null {
  if (WHOLE_ONLY.test(text)) return null;
  const chunks: Chunk[] = [];
  let start = 0;
  let line = 1;
  const cut = (end: number) => {
    if (end > start) chunks.push({ text: text.slice(start, end), firstLine: line });
    for (let i = text.indexOf('\n', start); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) line++;
    start = end;
  };
  for (const m of text.matchAll(MARKER)) cut(m.index!);
  cut(text.length);
  return chunks;
}

function shiftLine<T extends { origin?: { file: string; line: number } }>(x: T, by: number): T {
  return x.origin ? { ...x, origin: { file: x.origin.file, line: x.origin.line + by } } : x;
}

/** The entry of a document that moved from `e.firstLine` to `firstLine` (lines added or removed above it). */
function moved(e: Entry, firstLine: number): Entry {
  const by = firstLine - e.firstLine;
  return {
    text: e.text,
    firstLine,
    objects: e.objects.map((o) => shiftLine(o, by)),
    diagnostics: e.diagnostics.map((d) => ({ ...d, object: shiftLine(d.object, by) })),
  };
}

/** Parses one file again and again as it changes (see the top of this file). */
export class ParsedDocuments {
  private entries = new Map<string, Entry>();
  private last: { text: string; file: string; result: ParsedFile } | undefined;

  parse(text: string, file: string): ParsedFile {
    if (this.last && this.last.text === text && this.last.file === file) return this.last.result;
    const result = this.parseChunks(text, file) ?? this.parseWhole(text, file);
    this.last = { text, file, result };
    return result;
  }

  private parseWhole(text: string, file: string): ParsedFile {
    this.entries = new Map();
    const parsed = parseManifestText(text, file);
    return { objects: parsed.objects, diagnostics: parsed.diagnostics, locate: (o) => parsed.nodes.get(o) };
  }

  private parseChunks(text: string, file: string): ParsedFile | null {
    const chunks = splitDocuments(text);
    if (!chunks) return null;
    if (this.last?.file !== file) this.entries = new Map();
    const next = new Map<string, Entry>();
    const objects: StoredObject[] = [];
    const diagnostics: Diagnostic[] = [];
    const where = new Map<StoredObject, { entry: Entry; index: number }>();
    for (const chunk of chunks) {
      let entry = next.get(chunk.text) ?? this.entries.get(chunk.text);
      if (!entry) {
        const parsed = parseManifestText(chunk.text, file, chunk.firstLine);
        if (parsed.syntaxErrors > 0) return null;
        entry = { text: chunk.text, firstLine: chunk.firstLine, objects: parsed.objects, diagnostics: parsed.diagnostics };
      } else if (entry.firstLine !== chunk.firstLine) {
        entry = moved(entry, chunk.firstLine);
      }
      next.set(chunk.text, entry);
      objects.push(...entry.objects);
      diagnostics.push(...entry.diagnostics);
      entry.objects.forEach((o, index) => where.set(o, { entry: entry!, index }));
    }
    this.entries = next;
    const locate = (o: StoredObject): LocatedNode | undefined => {
      const w = where.get(o);
      if (!w) return undefined;
      if (!w.entry.nodes) {
        const again = parseManifestText(w.entry.text, file, w.entry.firstLine);
        w.entry.nodes = again.objects.map((x) => again.nodes.get(x)!);
      }
      return w.entry.nodes[w.index];
    };
    return { objects, diagnostics, locate };
  }
}
