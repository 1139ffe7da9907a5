/**
 * The TLS offload settings (ConfigMap keys and `gatehouse run|controller` flags): their typed form
 * and their parsers. Every value reaches HAProxy's global section only through these parsers.
 */
import { quote } from '../translate/json.js';
import type { HaproxyCapabilities } from './capabilities.js';
import type { Parsed } from '../translate/values.js';

export type OffloadMode = 'auto' | 'required' | 'off';

export interface CryptoSettings {
  /** auto: the provider when the pod has accelerator devices and it loads; required: that or no TLS; off: software. */
  offload: OffloadMode;
  /** OpenSSL 3 providers to load (`ssl-provider`), in order. */
  providers: string[];
  /** Directory the providers are loaded from (`ssl-provider-path`); null: OpenSSL's own. */
  providerPath: string | null;
  /** Default property query (`ssl-propquery`), e.g. `?provider=qatprovider`. */
  propquery: string | null;
  /** Asynchronous crypto (`ssl-mode-async`). */
  modeAsync: boolean;
  /** An OpenSSL ENGINE (`ssl-engine`): only HAProxy builds with ENGINE (OpenSSL 1.1) have them. */
  engine: string | null;
  /** What the engine does (`ssl-engine <name> algo <list>`); empty: the engine's defaults. */
  engineAlgos: string[];
}

export function builtinCrypto(): CryptoSettings {
  return { offload: 'auto', providers: [], providerPath: null, propquery: null, modeAsync: false, engine: null, engineAlgos: [] };
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });

export function parseOffloadMode(s: string): Parsed<OffloadMode> {
  if (s === 'auto' || s === 'required' || s === 'off') return ok(s);
  return fail(`${quote(s)} is not an offload mode: write auto, required or off`);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Comma-separated provider names (`qatprovider,default`); empty: none. */
export function parseProviderList(s: string): Parsed<string[]> {
  if (s === '') return ok([]);
  const names = s.split(',');
  for (const n of names) {
    if (!NAME.test(n)) return fail(`${quote(n)} is not a provider name: write names of letters, digits, '.', '_' and '-', separated by commas without spaces, e.g. qatprovider,default`);
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) return fail(`provider ${quote(dup)} is listed twice: list each provider once`);
  return ok(names);
}

/** An absolute directory; empty: OpenSSL's default module directory. */
export function parseProviderPath(s: string): Parsed<string | null> {
  if (s === '') return ok(null);
  if (!/^\/[A-Za-z0-9_.+/-]{0,1023}$/.test(s) || s.split('/').includes('..')) {
    return fail(`${quote(s)} is not an absolute directory: write a path such as /usr/lib/x86_64-linux-gnu/ossl-modules (letters, digits, '_', '.', '+', '-' and '/', no '..')`);
  }
  return ok(s);
}

/** An OpenSSL property query (`?provider=qatprovider`, `fips=yes`, `-fips`); empty: none. */
export function parsePropquery(s: string): Parsed<string | null> {
  if (s === '') return ok(null);
  const clause = /^[?-]?[A-Za-z][A-Za-z0-9_.]{0,63}((=|!=)[A-Za-z0-9_.+-]{1,64})?$/;
  const bad = s.split(',').find((c) => !clause.test(c));
  if (bad !== undefined) return fail(`${quote(bad)} is not a property query clause: write name=value clauses separated by commas, each optionally prefixed by ? (preferred) or - (absent), e.g. ?provider=qatprovider`);
  return ok(s);
}

/** An ENGINE name (`qat`); empty: none. */
export function parseEngineName(s: string): Parsed<string | null> {
  if (s === '') return ok(null);
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(s)) return fail(`${quote(s)} is not an engine name: write letters, digits, '_' and '-', e.g. qat`);
  return ok(s);
}

export const ENGINE_ALGOS = ['ALL', 'RSA', 'DSA', 'DH', 'EC', 'RAND', 'CIPHERS', 'DIGESTS', 'PKEY', 'PKEY_CRYPTO', 'PKEY_ASN1'] as const;

/** Comma-separated algorithm classes the engine takes (`RSA,EC`); empty: the engine's defaults. */
export function parseEngineAlgos(s: string): Parsed<string[]> {
  if (s === '') return ok([]);
  const algos = s.split(',');
  const bad = algos.find((a) => !(ENGINE_ALGOS as readonly string[]).includes(a));
  if (bad !== undefined) return fail(`${quote(bad)} is not an engine algorithm class: write a comma-separated list of ${ENGINE_ALGOS.join(', ')}`);
  return ok(algos);
}

/** A setting the HAProxy binary cannot do, by key. */
export interface CapabilityProblem {
  key: 'ssl-engine' | 'ssl-provider' | 'ssl-provider-path' | 'ssl-propquery' | 'ssl-mode-async';
  message: string;
}

/**
 * Checks the settings against what the HAProxy binary can do (`haproxy -vv`), and resets what it
 * cannot to the built-in default, so the rest still applies. Returns one problem per key reset.
 */
export function enforceCapabilities(c: CryptoSettings, caps: HaproxyCapabilities): CapabilityProblem[] {
  const problems: CapabilityProblem[] = [];
  const on = `HAProxy ${caps.version}${caps.openssl ? ` on ${caps.openssl}` : ''}`;
  if (c.engine !== null && !caps.engine) {
    problems.push({
      key: 'ssl-engine',
      message: `ssl-engine needs an HAProxy built with ENGINE support, and ${on} has none ("haproxy -vv" lists -ENGINE); OpenSSL 3 replaced engines with providers: remove ssl-engine and set ssl-provider instead (for Intel QAT: ssl-provider "qatprovider")`,
    });
    c.engine = null;
    c.engineAlgos = [];
  }
  if (!caps.providers) {
    const why = `needs HAProxy 2.6 or newer built with OpenSSL 3, and this is ${on}: remove it, or run an HAProxy built with OpenSSL 3`;
    if (c.providers.length > 0) problems.push({ key: 'ssl-provider', message: `ssl-provider ${why}` });
    if (c.providerPath !== null) problems.push({ key: 'ssl-provider-path', message: `ssl-provider-path ${why}` });
    if (c.propquery !== null) problems.push({ key: 'ssl-propquery', message: `ssl-propquery ${why}` });
    c.providers = [];
    c.providerPath = null;
    c.propquery = null;
  }
  if (c.modeAsync && !caps.async) {
    problems.push({ key: 'ssl-mode-async', message: `ssl-mode-async needs OpenSSL 1.1.0 or newer, and this is ${on}: set it to "false"` });
    c.modeAsync = false;
  }
  return problems;
}
