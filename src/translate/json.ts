/** Safe reading of untrusted JSON values: every access checks the type and never throws. */

export type JsonRecord = Readonly<Record<string, unknown>>;

/** A JSON object (not null, not an array). */
export function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own property of a JSON object, or undefined (never an inherited one like `constructor`). */
export function own(o: JsonRecord, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

/** An own property of `o` when `o` is a JSON object, else undefined. */
export function field(o: unknown, key: string): unknown {
  return isRecord(o) ? own(o, key) : undefined;
}

/** "a string", "a number", "an array", … for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a mapping';
    default:
      return `a ${typeof v}`;
  }
}

/**
 * A user's value quoted for a message: JSON-quoted (so newlines and control characters are
 * visible), cut to a readable length.
 */
export function quote(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  else return describe(v);
  const max = 80;
  const cut = s.length > max ? s.slice(0, max) : s;
  return JSON.stringify(cut) + (s.length > max ? '…' : '');
}

/** JSON text with object keys sorted, for deterministic comparison of values. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(stableStringify).join(',') + ']';
  if (isRecord(v)) {
    const keys = Object.keys(v).sort();
    return '{' + keys.map((k) => JSON.stringify(k) + ':' + stableStringify(v[k])).join(',') + '}';
  }
  if (v === undefined) return 'null';
  if (typeof v === 'number' && !Number.isFinite(v)) return 'null';
  return JSON.stringify(v) ?? 'null';
}

/** Field path of a map key: `data["tls.crt"]`. */
export function keyPath(base: string, key: string): string {
  return `${base}[${JSON.stringify(key)}]`;
}

/** Field path of an annotation. */
export function annotationPath(key: string): string {
  return keyPath('metadata.annotations', key);
}
