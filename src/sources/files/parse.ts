import { LineCounter, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';
import type { Diagnostic, DiagnosticObject } from '../../model/diagnostic.js';
import { KINDS, type Kind, type StoredObject } from '../../store/objects.js';
import { checkName, suggestName, type NameRule } from './names.js';

/**
 * One manifest file's text → the objects Gatehouse reads from it, plus a diagnostic for every
 * document it had to reject. Pure (no I/O); `loadManifests` adds the files and the duplicate check.
 *
 * What is read: every YAML document (`---`-separated), and the `items` of `kind: List`. Of those,
 * only the kinds in `KINDS` with their apiVersion, and Secrets only of type `kubernetes.io/tls`;
 * everything else (Deployments, Opaque Secrets, …) is skipped without a word, except a kind
 * Gatehouse reads written with another apiVersion (e.g. Ingress `extensions/v1beta1`): that gets a
 * warning, since silently ignoring an Ingress is a trap. Empty documents are skipped.
 *
 * Rejected, each alone with an error: YAML syntax errors (including duplicate keys), a document
 * that is not a mapping, a missing `kind` or `apiVersion` (for a kind Gatehouse reads), and
 * invalid metadata (name, namespace, labels, annotations must be what the API server accepts).
 *
 * YAML is read as YAML 1.2 (core schema) with `<<` merge keys: `on`/`yes` are strings, not booleans.
 */
export interface ParsedManifest {
  objects: StoredObject[];
  diagnostics: Diagnostic[];
  /** The YAML node each object was read from, to find the line of a field later. */
  nodes: Map<StoredObject, LocatedNode>;
  /** Documents rejected for their YAML (syntax errors, aliases that cannot be read). */
  syntaxErrors: number;
}

/** Line numbers of offsets in a text (a yaml LineCounter, or one shifted by the lines above the text). */
export interface Lines {
  linePos(offset: number): { line: number; col: number };
}

export interface LocatedNode {
  node: YamlNode;
  lines: Lines;
}

const SCOPE_NAME_RULE: Readonly<Record<Kind, NameRule>> = {
  Ingress: 'dns1123-subdomain',
  IngressClass: 'dns1123-subdomain',
  Service: 'dns1035-label',
  EndpointSlice: 'dns1123-subdomain',
  Secret: 'dns1123-subdomain',
  ConfigMap: 'dns1123-subdomain',
};

const CLUSTER_SCOPED: ReadonlySet<Kind> = new Set<Kind>(['IngressClass']);

export const TLS_SECRET_TYPE = 'kubernetes.io/tls';

interface Context {
  file: string;
  lines: Lines;
  out: ParsedManifest;
}

/**
 * `firstLine`: the line `text` starts on in its file (a document read apart from the ones above it,
 * see documents.ts); every line reported counts from there.
 */
export function parseManifestText(text: string, file: string, firstLine = 1): ParsedManifest {
  const out: ParsedManifest = { objects: [], diagnostics: [], nodes: new Map(), syntaxErrors: 0 };
  const counter = new LineCounter();
  const shift = firstLine - 1;
  const lines: Lines = shift === 0 ? counter : { linePos: (offset) => { const p = counter.linePos(offset); return { line: p.line + shift, col: p.col }; } };
  const ctx: Context = { file, lines, out };
  for (const doc of parseAllDocuments(text, { lineCounter: counter, merge: true })) {
    const node = (doc.contents ?? null) as YamlNode | null;
    const startLine = node?.range ? lineOf(lines, node.range[0]) : 1;
    let value: unknown;
    let toJsError: string | undefined;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      toJsError = e instanceof Error ? e.message : String(e);
    }
    const firstError = doc.errors[0];
    if (firstError !== undefined) {
      out.syntaxErrors++;
      const at = firstError.linePos?.[0]?.line;
      const line = at !== undefined ? at + shift : lineOf(lines, firstError.pos[0]);
      const what = firstError.message.split('\n')[0]!.replace(/\s*at line \d+, column \d+:?\s*$/, '');
      error(ctx, bestKnownRef(value), line, '', `YAML syntax error: ${what}. ${yamlHint(firstError.code)}`);
      continue;
    }
    if (toJsError !== undefined) {
      out.syntaxErrors++;
      error(ctx, unknownRef(), startLine, '', `this document cannot be read: ${toJsError}. Write it without aliases (*name) or with fewer of them.`);
      continue;
    }
    if (value === null || value === undefined) continue; // empty document, or only comments
    readObject(ctx, value, node, startLine);
  }
  return out;
}

function readObject(ctx: Context, value: unknown, node: YamlNode | null, startLine: number): void {
  const at = (path: readonly (string | number)[]): number => (node ? lineAtPath(ctx.lines, node, path).line : startLine);
  if (!isPlainObject(value)) {
    const what = Array.isArray(value) ? 'a list' : `the ${typeof value} ${JSON.stringify(value)}`;
    error(ctx, unknownRef(), startLine, '', `this document is ${what}, not a Kubernetes object: write a mapping with apiVersion, kind and metadata, or remove it.`);
    return;
  }
  const kind = value['kind'];
  if (typeof kind !== 'string' || kind === '') {
    error(ctx, bestKnownRef(value), at(['kind']), 'kind', `the object has no kind: add one (for example "kind: Ingress") with its apiVersion.`);
    return;
  }
  if (kind === 'List') {
    readList(ctx, value, node, at);
    return;
  }
  if (!isKind(kind)) return; // not a kind Gatehouse reads (Deployment, …)
  const apiVersion = value['apiVersion'];
  const expected = KINDS[kind];
  if (apiVersion === undefined || apiVersion === null || apiVersion === '') {
    error(ctx, bestKnownRef(value), startLine, 'apiVersion', `the ${kind} has no apiVersion: add "apiVersion: ${expected}".`);
    return;
  }
  if (apiVersion !== expected) {
    const ref = bestKnownRef(value);
    ctx.out.diagnostics.push({
      severity: 'warning',
      object: withOrigin(ref, ctx.file, at(['apiVersion'])),
      field: 'apiVersion',
      message: `${kind} ${JSON.stringify(apiVersion)} is not read, so this object is ignored: Gatehouse reads ${kind} only as "${expected}"; convert it to that apiVersion.`,
    });
    return;
  }
  if (kind === 'Secret' && value['type'] !== TLS_SECRET_TYPE) return; // only TLS secrets matter

  const meta = value['metadata'];
  const known = bestKnownRef(value);
  const ref = { ...known, kind };
  if (!isPlainObject(meta)) {
    error(ctx, ref, at(['metadata']), 'metadata', `the ${kind} has no metadata: add "metadata:" with at least a name.`);
    return;
  }
  const name = meta['name'];
  if (name === undefined || name === null || name === '') {
    const hint = typeof meta['generateName'] === 'string' ? ' (generateName is not supported in manifest files)' : '';
    error(ctx, ref, at(['metadata', 'name']), 'metadata.name', `the ${kind} has no name${hint}: add "name: <name>" under metadata.`);
    return;
  }
  if (typeof name !== 'string') {
    error(ctx, ref, at(['metadata', 'name']), 'metadata.name', `metadata.name must be a string, not the ${typeof name} ${JSON.stringify(name)}: quote it ("name: \\"${String(name)}\\"") or choose another name.`);
    return;
  }
  const rule = SCOPE_NAME_RULE[kind];
  const nameProblem = checkName(name, rule);
  if (nameProblem !== undefined) {
    const suggestion = suggestName(name, rule);
    error(ctx, { ...ref, name }, at(['metadata', 'name']), 'metadata.name', `${JSON.stringify(name)} is not a valid ${kind} name: use ${nameProblem}${suggestion ? ` (for example ${JSON.stringify(suggestion)})` : ''}.`);
    return;
  }
  let namespace = 'default';
  const ns = meta['namespace'];
  if (CLUSTER_SCOPED.has(kind)) {
    namespace = ''; // a namespace written on a cluster-scoped object is ignored, as the API server does
  } else if (ns !== undefined && ns !== null && ns !== '') {
    const nsProblem = typeof ns === 'string' ? checkName(ns, 'dns1123-label') : 'a string';
    if (typeof ns !== 'string' || nsProblem !== undefined) {
      const suggestion = typeof ns === 'string' ? suggestName(ns, 'dns1123-label') : undefined;
      error(ctx, { kind, namespace: typeof ns === 'string' ? ns : '', name }, at(['metadata', 'namespace']), 'metadata.namespace', `${JSON.stringify(ns)} is not a valid namespace: use ${nsProblem}${suggestion ? ` (for example ${JSON.stringify(suggestion)})` : ''}.`);
      return;
    }
    namespace = ns;
  }
  const here = { kind, namespace, name };
  const labels = stringMap(ctx, here, meta, 'labels', at);
  const annotations = stringMap(ctx, here, meta, 'annotations', at);
  if (labels === undefined || annotations === undefined) return;

  const object: StoredObject = {
    kind,
    apiVersion: expected,
    namespace,
    name,
    annotations,
    labels,
    raw: JSON.parse(JSON.stringify(value)) as Record<string, unknown>,
    origin: { file: ctx.file, line: startLine },
  };
  if (typeof meta['creationTimestamp'] === 'string') object.creationTimestamp = meta['creationTimestamp'];
  ctx.out.objects.push(object);
  if (node) ctx.out.nodes.set(object, { node, lines: ctx.lines });
}

function readList(ctx: Context, value: Record<string, unknown>, node: YamlNode | null, at: (path: readonly (string | number)[]) => number): void {
  const items = value['items'];
  if (items === undefined || items === null) return; // an empty List
  if (!Array.isArray(items)) {
    error(ctx, unknownRef(), at(['items']), 'items', `the items of a List must be a list of objects ("items:" followed by "- apiVersion: …" entries).`);
    return;
  }
  const seq = node && isMap(node) ? node.get('items', true) : undefined;
  items.forEach((item, i) => {
    const itemNode = isSeq(seq) ? ((seq.items[i] ?? null) as YamlNode | null) : null;
    const line = itemNode?.range ? lineOf(ctx.lines, itemNode.range[0]) : at(['items', i]);
    readObject(ctx, item, itemNode, line);
  });
}

/** labels/annotations: absent or null → {}; else every value must be a string. undefined = rejected. */
function stringMap(
  ctx: Context,
  ref: { kind: Kind; namespace: string; name: string },
  meta: Record<string, unknown>,
  field: 'labels' | 'annotations',
  at: (path: readonly (string | number)[]) => number,
): Record<string, string> | undefined {
  const m = meta[field];
  if (m === undefined || m === null) return {};
  if (!isPlainObject(m)) {
    error(ctx, ref, at(['metadata', field]), `metadata.${field}`, `metadata.${field} must be a mapping of keys to string values ("key: value" lines under it).`);
    return undefined;
  }
  const result: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string') {
      result[k] = v;
      continue;
    }
    const shown = v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    error(ctx, ref, at(['metadata', field, k]), `metadata.${field}[${JSON.stringify(k)}]`, `the value of ${field === 'labels' ? 'label' : 'annotation'} ${JSON.stringify(k)} must be a string, not ${v === null ? 'empty' : `the ${Array.isArray(v) ? 'list' : typeof v} ${shown}`}: quote it (${k}: "${shown}").`);
    return undefined;
  }
  return result;
}

function error(ctx: Context, object: DiagnosticObject, line: number, field: string, message: string): void {
  ctx.out.diagnostics.push({ severity: 'error', object: withOrigin(object, ctx.file, line), field, message });
}

function withOrigin(o: DiagnosticObject, file: string, line: number): DiagnosticObject {
  return { kind: o.kind, namespace: o.namespace, name: o.name, origin: { file, line } };
}

function unknownRef(): DiagnosticObject {
  return { kind: '', namespace: '', name: '' };
}

/** kind/namespace/name as far as they can be read from a (possibly broken) document. */
function bestKnownRef(value: unknown): DiagnosticObject {
  if (!isPlainObject(value)) return unknownRef();
  const kind = typeof value['kind'] === 'string' && isKind(value['kind']) ? value['kind'] : '';
  const meta = isPlainObject(value['metadata']) ? value['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '';
  const written = typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
  const namespace = kind !== '' && CLUSTER_SCOPED.has(kind) ? '' : written !== '' || kind === '' ? written : 'default';
  return { kind, namespace, name };
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'Remove or rename one of the two keys.';
    case 'TAB_AS_INDENT':
      return 'Indent with spaces, not tabs.';
    case 'MULTILINE_IMPLICIT_KEY':
    case 'MISSING_CHAR':
    case 'BAD_INDENT':
    case 'UNEXPECTED_TOKEN':
      return 'Check the indentation, the ":" after each key and the quoting on and just before this line.';
    default:
      return 'Fix the YAML on or just before this line; the other documents in the file are still read.';
  }
}

export function isKind(k: string): k is Kind {
  return Object.prototype.hasOwnProperty.call(KINDS, k);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lineOf(lines: Lines, offset: number): number {
  return lines.linePos(offset).line;
}

/**
 * Walks `path` (map keys and sequence indexes) from `node` as far as it exists and returns the
 * line of the deepest step found: the key's line for a map entry, the item's line in a sequence.
 * A string step that is not a key is also tried joined with the steps after it by '.', so
 * `metadata.annotations.example.com/x` finds the annotation `example.com/x`.
 */
export function lineAtPath(lines: Lines, node: YamlNode, path: readonly (string | number)[]): { line: number; depth: number } {
  let line = node.range ? lineOf(lines, node.range[0]) : 1;
  let current: unknown = node;
  let i = 0;
  while (i < path.length) {
    const step = path[i]!;
    if (isSeq(current) && typeof step === 'number') {
      const item = current.items[step];
      if (!item) break;
      if (isNodeWithRange(item)) line = lineOf(lines, item.range[0]);
      current = item;
      i += 1;
      continue;
    }
    if (isMap(current)) {
      const map = current;
      let found = false;
      const maxJoin = typeof step === 'string' ? path.length : i + 1;
      for (let j = maxJoin; j > i && !found; j--) {
        const parts = path.slice(i, j);
        if (parts.some((p) => typeof p !== 'string') && j - i > 1) continue;
        const key = parts.join('.');
        for (const pair of map.items) {
          if (!isPair(pair)) continue;
          const k = isScalar(pair.key) ? pair.key.value : pair.key;
          if (String(k) !== key) continue;
          if (isNodeWithRange(pair.key)) line = lineOf(lines, pair.key.range[0]);
          current = pair.value;
          i = j;
          found = true;
          break;
        }
      }
      if (found) continue;
    }
    break;
  }
  return { line, depth: i };
}

function isNodeWithRange(v: unknown): v is { range: [number, number, number] } {
  return typeof v === 'object' && v !== null && Array.isArray((v as { range?: unknown }).range);
}

/** `spec.rules[0].http.paths[1].pathType`, `metadata.annotations["a.b/c"]` → path steps. */
export function parseFieldPath(field: string): (string | number)[] {
  const steps: (string | number)[] = [];
  const re = /\[(\d+)\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[\s*'([^']*)'\s*\]|\.?([^.[\]]+)/g;
  for (const m of field.matchAll(re)) {
    if (m[1] !== undefined) steps.push(Number(m[1]));
    else if (m[2] !== undefined) steps.push(m[2].replace(/\\(.)/g, '$1'));
    else if (m[3] !== undefined) steps.push(m[3]);
    else if (m[4] !== undefined) steps.push(m[4]);
  }
  return steps;
}
