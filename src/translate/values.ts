/**
 * Parsers for setting values (annotations and ConfigMap keys). Each returns a typed value or a
 * message that says what is wrong and what to write instead. Nothing is trimmed or guessed:
 * a value is either exactly right or rejected.
 */
import { canonicalCidr } from './ip.js';
import { quote } from './json.js';
import { isDns1123Subdomain } from '../store/names.js';
import type { Balance, BackendPolicy } from '../model/types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });

export function parseBool(s: string): Parsed<boolean> {
  if (s === 'true') return ok(true);
  if (s === 'false') return ok(false);
  return fail(`${quote(s)} is not a boolean: write "true" or "false"`);
}

/** A decimal integer between min and max (digits only: no sign, no spaces, no exponent). */
export function parseIntRange(s: string, min: number, max: number, what = 'an integer'): Parsed<number> {
  if (!/^[0-9]{1,16}$/.test(s)) return fail(`${quote(s)} is not ${what}: write a whole number from ${min} to ${max}`);
  const n = Number(s);
  if (n < min || n > max) return fail(`${quote(s)} is out of range: write a whole number from ${min} to ${max}`);
  return ok(n);
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
export const MAX_DURATION_MS = 24 * 3_600_000;

/** `<int>ms|s|m|h`, or a bare integer meaning seconds; 1ms to 24h. Returns milliseconds. */
export function parseDurationMs(s: string): Parsed<number> {
  const m = /^([0-9]{1,9})(ms|s|m|h)?$/.exec(s);
  const help = 'write a whole number followed by ms, s, m or h (a bare number means seconds), from 1ms to 24h, e.g. 30s or 500ms';
  if (!m) return fail(`${quote(s)} is not a duration: ${help}`);
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!;
  if (ms < 1 || ms > MAX_DURATION_MS) return fail(`${quote(s)} is out of range: ${help}`);
  return ok(ms);
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes, or a whole number with k, m or g (1024-based, either case). 0 = no limit. */
export function parseSizeBytes(s: string): Parsed<number> {
  const m = /^([0-9]{1,15})([kKmMgG]?)$/.exec(s);
  const help = 'write a whole number of bytes, optionally followed by k, m or g (1024-based), e.g. 10m; 0 means no limit';
  if (!m) return fail(`${quote(s)} is not a size: ${help}`);
  const n = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n)) return fail(`${quote(s)} is too large: ${help}`);
  return ok(n);
}

/** RFC 9110 token: header names. */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Cookie names as this gateway accepts them: RFC 6265 token characters, 1 to 64 of them. */
export const COOKIE_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

export function parseBalance(s: string): Parsed<Balance> {
  if (s === 'roundrobin' || s === 'leastconn' || s === 'source') return ok({ kind: s });
  if (s.startsWith('header:')) {
    const h = s.slice('header:'.length);
    if (HTTP_TOKEN.test(h)) return ok({ kind: 'header', header: h.toLowerCase() });
    return fail(`${quote(s)} does not end in an HTTP header name: after "header:" write a name made of letters, digits and !#$%&'*+.^_\`|~- (at most 128), e.g. header:X-User`);
  }
  return fail(`${quote(s)} is not a load-balance algorithm: use roundrobin, leastconn, source or header:<Header-Name>`);
}

export function parseAffinity(s: string): Parsed<'none' | 'cookie'> {
  if (s === 'none' || s === 'cookie') return ok(s);
  return fail(`${quote(s)} is not a session affinity: use none or cookie`);
}

export function parseCookieName(s: string): Parsed<string> {
  if (COOKIE_NAME.test(s)) return ok(s);
  return fail(`${quote(s)} is not a cookie name: use 1 to 64 letters, digits or !#$%&'*+.^_\`|~-`);
}

/**
 * Comma-separated CIDRs or single addresses, IPv4 or IPv6; spaces around commas are allowed.
 * Canonical `network/prefix`, sorted, without duplicates. '' = empty list.
 */
export function parseCidrList(s: string): Parsed<string[]> {
  if (s === '') return ok([]);
  const out = new Set<string>();
  const items = s.split(',');
  for (const [i, rawItem] of items.entries()) {
    const item = rawItem.replace(/^[ \t]+|[ \t]+$/g, '');
    if (item === '') return fail(`entry ${i + 1} of ${quote(s)} is empty: write CIDRs or addresses separated by commas, e.g. 10.0.0.0/8,192.168.1.7`);
    const c = canonicalCidr(item);
    if (!c) return fail(`${quote(item)} is not a CIDR or IP address: write e.g. 10.0.0.0/8, 192.168.1.7 or 2001:db8::/32`);
    out.add(c);
  }
  return ok([...out].sort());
}

export function parseProtocol(s: string): Parsed<BackendPolicy['protocol']> {
  switch (s.toUpperCase()) {
    case 'HTTP':
      return ok('http');
    case 'HTTPS':
      return ok('https');
    case 'H2C':
    case 'GRPC':
      return ok('h2c');
    case 'GRPCS':
      return ok('h2');
    default:
      return fail(`${quote(s)} is not a backend protocol: use HTTP, HTTPS, H2C, GRPC or GRPCS`);
  }
}

export function parseSslMinVersion(s: string): Parsed<'TLSv1.2' | 'TLSv1.3'> {
  if (s === 'TLSv1.2' || s === 'TLSv1.3') return ok(s);
  return fail(`${quote(s)} is not a TLS version: use TLSv1.2 or TLSv1.3`);
}

/** A Secret name (DNS-1123 subdomain). */
export function parseSecretName(s: string): Parsed<string> {
  if (isDns1123Subdomain(s)) return ok(s);
  return fail(`${quote(s)} is not a Secret name: use lowercase letters, digits, "-" and "." (at most 253)`);
}
