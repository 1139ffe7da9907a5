/**
 * Settings: ConfigMap keys (global defaults) and `gatehouse.io/<key>` annotations (per Ingress,
 * overriding the ConfigMap). Every value is parsed into a typed, validated value here; nothing a
 * user wrote goes further as text.
 */
import type { Balance, BackendPolicy, GlobalSettings } from '../model/types.js';
import { closestName } from '../model/suggest.js';
import type { HaproxyCapabilities } from '../crypto/capabilities.js';
import {
  builtinCrypto,
  enforceCapabilities,
  parseEngineAlgos,
  parseEngineName,
  parseOffloadMode,
  parsePropquery,
  parseProviderList,
  parseProviderPath,
  type CryptoSettings,
} from '../crypto/settings.js';
import type { StoredObject } from '../store/objects.js';
import { annotationPath, describe, isRecord, keyPath, own, quote } from './json.js';
import { parseServerName } from './hosts.js';
import {
  parseAffinity,
  parseBalance,
  parseBool,
  parseCidrList,
  parseCookieName,
  parseDurationMs,
  parseIntRange,
  parseProtocol,
  parseSecretName,
  parseSizeBytes,
  parseSslMinVersion,
  type Parsed,
} from './values.js';

export const ANNOTATION_PREFIX = 'gatehouse.io/';

/** Per-Ingress settings, typed. */
export interface IngressSettings {
  sslRedirect: boolean;
  hsts: boolean;
  hstsMaxAgeSeconds: number;
  hstsIncludeSubdomains: boolean;
  hstsPreload: boolean;
  serverTimeoutMs: number;
  connectTimeoutMs: number;
  balance: Balance;
  sessionAffinity: 'none' | 'cookie';
  sessionCookieName: string;
  allowSourceRanges: string[];
  denySourceRanges: string[];
  rateLimitRps: number;
  maxBodyBytes: number;
  protocol: BackendPolicy['protocol'];
  backendTlsVerify: boolean;
  /** Annotation only. */
  backendCaSecret: string | null;
  /** Annotation only. */
  backendTlsServerName: string | null;
}

export interface Settings {
  global: GlobalSettings;
  /** Defaults for every Ingress. */
  ingress: IngressSettings;
}

/** What the documentation says about one setting. */
export interface SettingInfo {
  name: string;
  /** `ingress`: ConfigMap default and per-Ingress annotation; `global`: ConfigMap only. */
  scope: 'ingress' | 'global';
  /** Where it can be written. */
  configMap: boolean;
  annotation: boolean;
  /** The built-in default as text ('' = empty, '—' = none). */
  default: string;
  /** Accepted values. */
  values: string;
  description: string;
  /** Also a flag of `gatehouse run` and `gatehouse controller` (`--<name>`), which sets its default. */
  flag?: true;
}

interface SettingDef extends SettingInfo {
  applyIngress?: (s: IngressSettings, v: string) => string | null;
  applyGlobal?: (s: GlobalSettings, v: string) => string | null;
}

/** A setter for one field of the part of `S` that `part` picks, from a parser: returns the parser's error, or null. */
function field<S, T, K extends keyof T>(part: (s: S) => T, key: K, parse: (v: string) => Parsed<T[K]>) {
  return (s: S, v: string): string | null => {
    const r = parse(v);
    if (!r.ok) return r.error;
    part(s)[key] = r.value;
    return null;
  };
}

const ing = <K extends keyof IngressSettings>(key: K, parse: (v: string) => Parsed<IngressSettings[K]>) => field((s: IngressSettings) => s, key, parse);
const glob = <K extends keyof GlobalSettings>(key: K, parse: (v: string) => Parsed<GlobalSettings[K]>) => field((s: GlobalSettings) => s, key, parse);
const cry = <K extends keyof CryptoSettings>(key: K, parse: (v: string) => Parsed<CryptoSettings[K]>) => field((s: GlobalSettings) => s.crypto, key, parse);

const bool = parseBool;
const nonNegSeconds = (s: string) => parseIntRange(s, 0, 2147483647, 'a number of seconds');
const rps = (s: string) => parseIntRange(s, 0, 1_000_000, 'a number of requests per second');
const port = (s: string) => parseIntRange(s, 1, 65535, 'a port number');

const BOTH = { scope: 'ingress', configMap: true, annotation: true } as const;
const ANNOTATION_ONLY = { scope: 'ingress', configMap: false, annotation: true } as const;
const GLOBAL = { scope: 'global', configMap: true, annotation: false } as const;
const CRYPTO = { ...GLOBAL, flag: true } as const;

const DEFS: readonly SettingDef[] = [
  { name: 'ssl-redirect', ...BOTH, default: 'true', values: 'true|false', description: 'Answer plain HTTP requests for TLS hosts with a 308 redirect to HTTPS.', applyIngress: ing('sslRedirect', bool) },
  { name: 'hsts', ...BOTH, default: 'true', values: 'true|false', description: 'Send Strict-Transport-Security on HTTPS responses.', applyIngress: ing('hsts', bool) },
  { name: 'hsts-max-age', ...BOTH, default: '31536000', values: 'integer seconds ≥ 0', description: 'max-age of the Strict-Transport-Security header.', applyIngress: ing('hstsMaxAgeSeconds', nonNegSeconds) },
  { name: 'hsts-include-subdomains', ...BOTH, default: 'false', values: 'true|false', description: 'Add includeSubDomains to the Strict-Transport-Security header.', applyIngress: ing('hstsIncludeSubdomains', bool) },
  { name: 'hsts-preload', ...BOTH, default: 'false', values: 'true|false', description: 'Add preload to the Strict-Transport-Security header.', applyIngress: ing('hstsPreload', bool) },
  { name: 'server-timeout', ...BOTH, default: '60s', values: 'duration (ms, s, m, h; 1ms–24h)', description: 'How long to wait for a backend to answer.', applyIngress: ing('serverTimeoutMs', parseDurationMs) },
  { name: 'connect-timeout', ...BOTH, default: '5s', values: 'duration (ms, s, m, h; 1ms–24h)', description: 'How long to wait for a connection to a backend endpoint.', applyIngress: ing('connectTimeoutMs', parseDurationMs) },
  { name: 'load-balance', ...BOTH, default: 'roundrobin', values: 'roundrobin|leastconn|source|header:<name>', description: 'How requests are spread over a backend\'s endpoints.', applyIngress: ing('balance', parseBalance) },
  { name: 'session-affinity', ...BOTH, default: 'none', values: 'none|cookie', description: 'Keep a client on one endpoint with a cookie.', applyIngress: ing('sessionAffinity', parseAffinity) },
  { name: 'session-cookie-name', ...BOTH, default: 'GATEHOUSE_AFFINITY', values: 'cookie name (1–64 token characters)', description: 'Name of the session affinity cookie.', applyIngress: ing('sessionCookieName', parseCookieName) },
  { name: 'allow-source-ranges', ...BOTH, default: '', values: 'comma-separated CIDRs or addresses', description: 'Only these client addresses may use the routes (empty: all).', applyIngress: ing('allowSourceRanges', parseCidrList) },
  { name: 'deny-source-ranges', ...BOTH, default: '', values: 'comma-separated CIDRs or addresses', description: 'These client addresses are refused.', applyIngress: ing('denySourceRanges', parseCidrList) },
  { name: 'rate-limit-rps', ...BOTH, default: '0', values: 'integer 0–1000000', description: 'Requests per second allowed per client address (0: no limit).', applyIngress: ing('rateLimitRps', rps) },
  { name: 'max-body-size', ...BOTH, default: '0', values: 'bytes, or with k/m/g (1024-based)', description: 'Largest request body accepted (0: no limit).', applyIngress: ing('maxBodyBytes', parseSizeBytes) },
  { name: 'backend-protocol', ...BOTH, default: 'HTTP', values: 'HTTP|HTTPS|H2C|GRPC|GRPCS', description: 'What the backend endpoints speak (GRPC = h2c, GRPCS = h2 over TLS).', applyIngress: ing('protocol', parseProtocol) },
  { name: 'backend-tls-verify', ...BOTH, default: 'false', values: 'true|false', description: 'Verify the certificates of HTTPS/GRPCS endpoints (needs backend-ca-secret).', applyIngress: ing('backendTlsVerify', bool) },
  { name: 'backend-ca-secret', ...ANNOTATION_ONLY, default: '—', values: 'Secret name', description: 'Secret (type kubernetes.io/tls) in the Ingress namespace whose ca.crt verifies the endpoints.', applyIngress: ing('backendCaSecret', parseSecretName) },
  { name: 'backend-tls-server-name', ...ANNOTATION_ONLY, default: '—', values: 'host name', description: 'Name the endpoint certificates must carry (also sent as SNI).', applyIngress: ing('backendTlsServerName', parseServerName) },
  { name: 'client-timeout', ...GLOBAL, default: '60s', values: 'duration (ms, s, m, h; 1ms–24h)', description: 'How long a client may take to send a request or stay idle.', applyGlobal: glob('clientTimeoutMs', parseDurationMs) },
  { name: 'https-redirect-port', ...GLOBAL, default: '443', values: 'port 1–65535', description: 'Port written in HTTP→HTTPS redirects.', applyGlobal: glob('httpsRedirectPort', port) },
  { name: 'ssl-min-version', ...GLOBAL, default: 'TLSv1.2', values: 'TLSv1.2|TLSv1.3', description: 'Oldest TLS version clients may use.', applyGlobal: glob('sslMinVersion', parseSslMinVersion) },
  { name: 'worker-threads', ...GLOBAL, default: '0', values: 'integer 0–64 (0: one per CPU)', description: 'HAProxy worker threads (nbthread); 1 for providers that are not thread-safe, such as tpm2.', applyGlobal: glob('workerThreads', (v) => parseIntRange(v, 0, 64, 'a number of threads')) },
  { name: 'crypto-offload', ...CRYPTO, default: 'auto', values: 'auto|required|off', description: 'TLS private-key offload. auto: the configured provider (or engine) when the pod has accelerator devices and it loads, else software; required: that, or no HTTPS and not ready; off: software.', applyGlobal: cry('offload', parseOffloadMode) },
  { name: 'ssl-provider', ...CRYPTO, default: '', values: 'comma-separated OpenSSL 3 provider names', description: 'Providers HAProxy loads for offload (ssl-provider), e.g. qatprovider; default is loaded after them unless the list names default or fips.', applyGlobal: cry('providers', parseProviderList) },
  { name: 'ssl-provider-path', ...CRYPTO, default: '', values: 'absolute directory', description: 'Where the providers are loaded from (ssl-provider-path); empty: OpenSSL\'s module directory.', applyGlobal: cry('providerPath', parseProviderPath) },
  { name: 'ssl-propquery', ...CRYPTO, default: '', values: 'OpenSSL property query, e.g. ?provider=qatprovider', description: 'Which implementations OpenSSL prefers (ssl-propquery).', applyGlobal: cry('propquery', parsePropquery) },
  { name: 'ssl-mode-async', ...CRYPTO, default: 'false', values: 'true|false', description: 'Asynchronous crypto (ssl-mode-async): HAProxy serves other connections while the accelerator works.', applyGlobal: cry('modeAsync', bool) },
  { name: 'ssl-engine', ...CRYPTO, default: '', values: 'engine name', description: 'An OpenSSL ENGINE (ssl-engine), only for HAProxy builds with ENGINE support (OpenSSL 1.1); refused otherwise: use ssl-provider.', applyGlobal: cry('engine', parseEngineName) },
  { name: 'ssl-engine-algos', ...CRYPTO, default: '', values: 'comma-separated: ALL, RSA, DSA, DH, EC, RAND, CIPHERS, DIGESTS, PKEY, PKEY_CRYPTO, PKEY_ASN1', description: 'What the engine does (ssl-engine … algo); empty: the engine\'s defaults.', applyGlobal: cry('engineAlgos', parseEngineAlgos) },
];

/** Every setting, for documentation. */
export const SETTINGS: readonly SettingInfo[] = DEFS.map(
  ({ name, scope, configMap, annotation, default: d, values, description, flag }) => ({
    name,
    scope,
    configMap,
    annotation,
    default: d,
    values,
    description,
    ...(flag ? { flag } : {}),
  }),
);

const BY_NAME: ReadonlyMap<string, SettingDef> = new Map(DEFS.map((d) => [d.name, d]));

export function builtinGlobal(): GlobalSettings {
  return { clientTimeoutMs: 60_000, httpsRedirectPort: 443, sslMinVersion: 'TLSv1.2', workerThreads: 0, crypto: builtinCrypto() };
}

export function builtinIngress(): IngressSettings {
  return {
    sslRedirect: true,
    hsts: true,
    hstsMaxAgeSeconds: 31_536_000,
    hstsIncludeSubdomains: false,
    hstsPreload: false,
    serverTimeoutMs: 60_000,
    connectTimeoutMs: 5_000,
    balance: { kind: 'roundrobin' },
    sessionAffinity: 'none',
    sessionCookieName: 'GATEHOUSE_AFFINITY',
    allowSourceRanges: [],
    denySourceRanges: [],
    rateLimitRps: 0,
    maxBodyBytes: 0,
    protocol: 'http',
    backendTlsVerify: false,
    backendCaSecret: null,
    backendTlsServerName: null,
  };
}

function copyIngress(s: IngressSettings): IngressSettings {
  return {
    ...s,
    balance: { ...s.balance },
    allowSourceRanges: [...s.allowSourceRanges],
    denySourceRanges: [...s.denySourceRanges],
  };
}

/** A problem found while reading settings; the caller attaches it to the object. */
export interface SettingProblem {
  severity: 'error' | 'warning';
  field: string;
  message: string;
}

/** Closest known name within edit distance 3, for "did you mean". */
function suggest(name: string, candidates: Iterable<string>): string | null {
  return closestName(name, candidates, 4) ?? null;
}

/** What the settings start from besides the built-in defaults. */
export interface SettingContext {
  /** Values from flags (`--ssl-provider qatprovider` → `{ 'ssl-provider': 'qatprovider' }`), checked by checkFlagSettings. */
  defaults?: Readonly<Record<string, string>>;
  /** What the HAProxy binary can do; without it, nothing is checked against the binary (`gatehouse check`). */
  haproxy?: HaproxyCapabilities;
}

/**
 * Checks settings given as flags: each must be a global setting marked `flag` with a valid value the
 * HAProxy binary can do. Returns one message per problem (empty: all good).
 */
export function checkFlagSettings(values: Readonly<Record<string, string>>, haproxy?: HaproxyCapabilities): string[] {
  const global = builtinGlobal();
  const messages: string[] = [];
  for (const [key, v] of Object.entries(values)) {
    const def = BY_NAME.get(key);
    if (!def?.flag || !def.applyGlobal) {
      messages.push(`--${key} is not a setting flag`);
      continue;
    }
    const err = def.applyGlobal(global, v);
    if (err) messages.push(`--${key}: ${err}`);
  }
  if (haproxy) for (const p of enforceCapabilities(global.crypto, haproxy)) messages.push(`--${p.key}: ${p.message}`);
  return messages;
}

function fromDefaults(defaults: Readonly<Record<string, string>> | undefined): GlobalSettings {
  const global = builtinGlobal();
  for (const [key, v] of Object.entries(defaults ?? {})) BY_NAME.get(key)?.applyGlobal?.(global, v);
  return global;
}

/**
 * Reads the settings ConfigMap over the defaults (built-in, then flags). An invalid key is reported
 * (error) and keeps its default; the other keys still apply. Unknown keys are warnings. A setting the
 * HAProxy binary cannot do is an error and keeps its default.
 */
export function parseConfigMap(cm: StoredObject | undefined, ctx: SettingContext = {}): { settings: Settings; problems: SettingProblem[] } {
  const global = fromDefaults(ctx.defaults);
  const ingress = builtinIngress();
  const problems: SettingProblem[] = [];
  const done = (): { settings: Settings; problems: SettingProblem[] } => {
    // Flags were checked against the binary at start, so what it cannot do came from the ConfigMap.
    for (const p of ctx.haproxy ? enforceCapabilities(global.crypto, ctx.haproxy) : []) {
      problems.push({ severity: 'error', field: keyPath('data', p.key), message: `${p.message}; it is ignored until then` });
    }
    return { settings: { global, ingress }, problems };
  };
  if (!cm) return done();
  const data = own(cm.raw, 'data');
  if (data === undefined || data === null) return done();
  if (!isRecord(data)) {
    problems.push({ severity: 'error', field: 'data', message: `data must be a mapping of setting names to strings, not ${describe(data)}: every setting keeps its built-in default until this is fixed` });
    return done();
  }
  const configMapKeys = DEFS.filter((d) => d.configMap).map((d) => d.name);
  for (const key of Object.keys(data).sort()) {
    const f = keyPath('data', key);
    const v = data[key];
    const def = BY_NAME.get(key);
    if (!def || !def.configMap) {
      if (def) {
        problems.push({ severity: 'warning', field: f, message: `${key} can only be set as the annotation ${ANNOTATION_PREFIX}${key} on an Ingress: it is ignored here; move it to the Ingresses that need it` });
      } else {
        const s = suggest(key, configMapKeys);
        problems.push({ severity: 'warning', field: f, message: `unknown setting ${quote(key)} is ignored${s ? `: did you mean ${s}?` : ': see the list of settings in the documentation'}` });
      }
      continue;
    }
    if (typeof v !== 'string') {
      problems.push({ severity: 'error', field: f, message: `value must be a string, not ${describe(v)}: quote it in YAML (e.g. "${def.default}"); using the default ${def.default || "''"}` });
      continue;
    }
    const err = def.applyIngress ? def.applyIngress(ingress, v) : def.applyGlobal!(global, v);
    if (err) problems.push({ severity: 'error', field: f, message: `${err}; using the default ${def.default || "''"} until it is fixed` });
  }
  if (global.crypto.engineAlgos.length > 0 && global.crypto.engine === null) {
    problems.push({ severity: 'warning', field: keyPath('data', 'ssl-engine-algos'), message: 'ssl-engine-algos has no effect without ssl-engine: set ssl-engine, or remove it' });
  }
  return done();
}

/** Keys of `gatehouse.io/*` annotations that an Ingress set (for combination checks). */
export type SetKeys = ReadonlySet<string>;

/**
 * Reads an Ingress's `gatehouse.io/*` annotations over the ConfigMap defaults. An invalid value
 * is an error (the Ingress is rejected); unknown `gatehouse.io/*` annotations and global-only keys
 * are warnings. Checks combinations (TLS verification needs a TLS protocol and a CA Secret).
 */
export function parseAnnotations(
  annotations: unknown,
  defaults: IngressSettings,
): { settings: IngressSettings; problems: SettingProblem[]; set: SetKeys } {
  const s = copyIngress(defaults);
  const problems: SettingProblem[] = [];
  const set = new Set<string>();
  if (!isRecord(annotations)) return { settings: s, problems, set };
  const annotationKeys = DEFS.filter((d) => d.annotation).map((d) => d.name);
  for (const full of Object.keys(annotations).sort()) {
    if (!full.startsWith(ANNOTATION_PREFIX)) continue;
    const key = full.slice(ANNOTATION_PREFIX.length);
    const f = annotationPath(full);
    const v = annotations[full];
    const def = BY_NAME.get(key);
    if (!def || !def.annotation) {
      if (def) {
        problems.push({ severity: 'warning', field: f, message: `${key} is a global setting and is ignored on an Ingress: set it in the gatehouse ConfigMap instead` });
      } else {
        const hint = suggest(key, annotationKeys);
        problems.push({ severity: 'warning', field: f, message: `unknown annotation ${quote(full)} is ignored${hint ? `: did you mean ${ANNOTATION_PREFIX}${hint}?` : ': check its spelling against the list of settings'}` });
      }
      continue;
    }
    if (typeof v !== 'string') {
      problems.push({ severity: 'error', field: f, message: `annotation value must be a string, not ${describe(v)}: quote it in YAML` });
      continue;
    }
    const err = def.applyIngress!(s, v);
    if (err) problems.push({ severity: 'error', field: f, message: err });
    else set.add(key);
  }

  const tlsProtocol = s.protocol === 'https' || s.protocol === 'h2';
  const verifyField = annotationPath(`${ANNOTATION_PREFIX}backend-tls-verify`);
  const caField = annotationPath(`${ANNOTATION_PREFIX}backend-ca-secret`);
  const snField = annotationPath(`${ANNOTATION_PREFIX}backend-tls-server-name`);
  if (set.has('backend-tls-verify') && s.backendTlsVerify && !tlsProtocol) {
    problems.push({
      severity: 'error',
      field: verifyField,
      message: `backend-tls-verify is true but backend-protocol is ${s.protocol.toUpperCase()}, which does not use TLS: set ${ANNOTATION_PREFIX}backend-protocol to HTTPS or GRPCS, or remove backend-tls-verify`,
    });
  }
  const verifying = s.backendTlsVerify && tlsProtocol;
  if (verifying && s.backendCaSecret === null) {
    const from = set.has('backend-tls-verify') ? '' : ' (set in the ConfigMap)';
    problems.push({
      severity: 'error',
      field: caField,
      message: `backend-tls-verify is true${from} but no CA is given: set ${ANNOTATION_PREFIX}backend-ca-secret to a Secret whose ca.crt holds the CA certificates, or set backend-tls-verify to "false"`,
    });
  }
  if (!verifying) {
    if (set.has('backend-ca-secret')) {
      problems.push({ severity: 'warning', field: caField, message: 'backend-ca-secret has no effect because endpoint certificates are not verified: set backend-tls-verify to "true" with backend-protocol HTTPS or GRPCS, or remove it' });
    }
    if (set.has('backend-tls-server-name')) {
      problems.push({ severity: 'warning', field: snField, message: 'backend-tls-server-name has no effect because endpoint certificates are not verified: set backend-tls-verify to "true" with backend-protocol HTTPS or GRPCS, or remove it' });
    }
  }
  if (set.has('session-cookie-name') && s.sessionAffinity !== 'cookie') {
    problems.push({
      severity: 'warning',
      field: annotationPath(`${ANNOTATION_PREFIX}session-cookie-name`),
      message: `session-cookie-name has no effect without session affinity: set ${ANNOTATION_PREFIX}session-affinity to "cookie", or remove it`,
    });
  }
  return { settings: s, problems, set };
}
