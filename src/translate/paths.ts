/** Paths and path types of Ingress rules. */
import { quote } from './json.js';
import type { Parsed } from './values.js';
import type { PathType } from '../model/types.js';

export const MAX_PATH_LENGTH = 1024;
/** RFC 3986 path characters (pchar and "/"), with `%` only as the start of a `%XX` escape. */
const PATH = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;

export function parsePathType(v: unknown): Parsed<'Exact' | 'Prefix' | 'ImplementationSpecific'> {
  if (v === undefined || v === null || v === '') {
    return { ok: false, error: 'pathType is required: set it to Exact, Prefix or ImplementationSpecific' };
  }
  if (v === 'Exact' || v === 'Prefix' || v === 'ImplementationSpecific') return { ok: true, value: v };
  return { ok: false, error: `pathType ${quote(v)} is not supported: use Exact, Prefix or ImplementationSpecific` };
}

/**
 * Checks a path and normalises it for its type. `Exact` keeps the path as written; `Prefix` and
 * `ImplementationSpecific` become `Prefix` without trailing slashes (`/` stays `/`). A missing
 * path means `/` for prefix types and is an error for `Exact`.
 */
export function parsePath(
  v: unknown,
  type: 'Exact' | 'Prefix' | 'ImplementationSpecific',
): Parsed<{ path: string; pathType: PathType }> {
  if (v === undefined || v === null || v === '') {
    if (type === 'Exact') return { ok: false, error: 'an Exact path needs a path: write one starting with "/"' };
    return { ok: true, value: { path: '/', pathType: 'Prefix' } };
  }
  if (typeof v !== 'string') return { ok: false, error: `path must be a string, not ${quote(v)}: write a path starting with "/"` };
  if (v.length > MAX_PATH_LENGTH) return { ok: false, error: `path is ${v.length} characters long: shorten it to at most ${MAX_PATH_LENGTH}` };
  if (!v.startsWith('/')) return { ok: false, error: `path ${quote(v)} does not start with "/": write an absolute path such as /api` };
  if (!PATH.test(v)) {
    return {
      ok: false,
      error: `path ${quote(v)} has characters a URL path cannot hold: use only letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes (write a space as %20)`,
    };
  }
  if (type === 'Exact') return { ok: true, value: { path: v, pathType: 'Exact' } };
  const trimmed = v.replace(/\/+$/, '');
  return { ok: true, value: { path: trimmed === '' ? '/' : trimmed, pathType: 'Prefix' } };
}
