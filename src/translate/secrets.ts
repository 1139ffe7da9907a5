/**
 * TLS Secrets: checked with node:crypto before anything of theirs is used. A certificate must
 * parse, its key must parse and match it, and it must not have expired. When the current version
 * of a Secret is bad and the last accepted version is still good, that one is used.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { objectKey, refOf, type StoredObject } from '../store/objects.js';
import type { Diagnostic } from '../model/diagnostic.js';
import { parseTss2Key, TSS2_BLOCK } from '../crypto/tss2-key.js';
import { describe, isRecord, keyPath, own, quote } from './json.js';

export const TLS_SECRET_TYPE = 'kubernetes.io/tls';
const MAX_PEM_BYTES = 1 << 20;

export interface TlsMaterial {
  /** Certificate chain then key, re-encoded from the parsed values, ending in a newline. */
  pem: string;
  /** Leaf expiry, ISO 8601. */
  notAfter: string;
  leaf: X509Certificate;
}

export interface CaMaterial {
  /** The CA certificates, re-encoded, ending in a newline. */
  pem: string;
}

export interface SecretProblem {
  field: string;
  message: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: SecretProblem[] };

export type Resolved<T> =
  | { status: 'ok'; version: StoredObject; value: T; fellBack: boolean }
  | { status: 'missing' }
  | { status: 'invalid'; reason: string };

/** One key of a Secret as text: `stringData[key]` if present, else base64-decoded `data[key]`. */
function readKey(secret: StoredObject, key: string): { ok: true; text: string; field: string } | { ok: false; problem: SecretProblem } | null {
  const stringData = own(secret.raw, 'stringData');
  if (isRecord(stringData)) {
    const v = own(stringData, key);
    if (typeof v === 'string') {
      if (v.length > MAX_PEM_BYTES) return { ok: false, problem: { field: keyPath('stringData', key), message: `${key} is larger than 1 MiB: store only the certificates and key` } };
      return { ok: true, text: v, field: keyPath('stringData', key) };
    }
    if (v !== undefined) return { ok: false, problem: { field: keyPath('stringData', key), message: `${key} must be a string, not ${describe(v)}` } };
  }
  const data = own(secret.raw, 'data');
  if (data === undefined || data === null) return null;
  if (!isRecord(data)) return { ok: false, problem: { field: 'data', message: `data must be a mapping of keys to base64 strings, not ${describe(data)}` } };
  const v = own(data, key);
  const field = keyPath('data', key);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') return { ok: false, problem: { field, message: `${key} must be a base64 string, not ${describe(v)}` } };
  const b64 = v.replace(/[\r\n]/g, '');
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    return { ok: false, problem: { field, message: `${key} is not valid base64: encode the PEM file with base64 (kubectl create secret tls does this), or put the PEM text under stringData` } };
  }
  if (b64.length > (MAX_PEM_BYTES * 4) / 3 + 4) return { ok: false, problem: { field, message: `${key} is larger than 1 MiB: store only the certificates and key` } };
  return { ok: true, text: Buffer.from(b64, 'base64').toString('latin1'), field };
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[\s\S]*?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----\r?\n[\s\S]*?-----END \1-----/;

function errorText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').slice(0, 120);
}

/** Every PEM certificate in `text`, parsed. */
function parseCerts(text: string, key: string, field: string): Checked<X509Certificate[]> {
  const blocks = text.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    return { ok: false, problems: [{ field, message: `${key} holds no PEM certificate (-----BEGIN CERTIFICATE-----): put the certificate chain there, leaf first` }] };
  }
  const certs: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block));
    } catch (e) {
      return { ok: false, problems: [{ field, message: `certificate ${i + 1} in ${key} does not parse (${errorText(e)}): replace it with a valid PEM certificate` }] };
    }
  }
  return { ok: true, value: certs };
}

function pemOf(certs: readonly X509Certificate[]): string {
  return certs.map((c) => c.toString().replace(/\r\n/g, '\n').trim()).join('\n');
}

function checkType(secret: StoredObject): SecretProblem | null {
  const type = own(secret.raw, 'type');
  if (type === TLS_SECRET_TYPE) return null;
  return {
    field: 'type',
    message: `type is ${type === undefined ? 'not set' : quote(type)}: a TLS Secret must have type ${TLS_SECRET_TYPE} (create it with kubectl create secret tls)`,
  };
}

/** What the settings allow in tls.key besides plain keys. */
export interface KeyOptions {
  /** TPM-wrapped keys (TSS2 PRIVATE KEY): only with the tpm2 provider required, as nothing else can use them. */
  tpmKeys: boolean;
}

export const TPM_KEY_HELP = 'set ssl-provider "tpm2", ssl-propquery "?provider=tpm2" and crypto-offload "required" in the gatehouse ConfigMap (docs/acceleration.md)';

/** tls.key as a TPM-wrapped key, checked against the leaf certificate. */
function checkTpmKey(text: string, field: string, leaf: X509Certificate | undefined, opts: KeyOptions): Checked<string> {
  if (!opts.tpmKeys) {
    return { ok: false, problems: [{ field, message: `tls.key is a TPM-wrapped key (TSS2 PRIVATE KEY), usable only inside the TPM through the tpm2 provider: ${TPM_KEY_HELP}, or use a plain PEM key` }] };
  }
  try {
    const key = parseTss2Key(text);
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    if (leaf && !spki(leaf.publicKey).equals(spki(key.publicKey))) {
      return { ok: false, problems: [{ field, message: 'tls.key (a TPM key) does not belong to the first certificate in tls.crt: put the matching key here, or the leaf certificate first in tls.crt' }] };
    }
    return { ok: true, value: key.pem };
  } catch (e) {
    return { ok: false, problems: [{ field, message: `tls.key is not a usable TSS2 PRIVATE KEY (${errorText(e)}): generate it with openssl genpkey -provider tpm2` }] };
  }
}

/** Checks a Secret for serving TLS: type, tls.crt and tls.key, matching, not expired at `now`. */
export function checkTlsSecret(secret: StoredObject, now: Date, opts: KeyOptions = { tpmKeys: false }): Checked<TlsMaterial> {
  const problems: SecretProblem[] = [];
  const typeProblem = checkType(secret);
  if (typeProblem) problems.push(typeProblem);
  const crt = readKey(secret, 'tls.crt');
  const key = readKey(secret, 'tls.key');
  let certs: X509Certificate[] | null = null;
  let privateKey: KeyObject | null = null;
  let crtField = keyPath('data', 'tls.crt');
  if (crt === null) problems.push({ field: crtField, message: 'tls.crt is missing: add the PEM certificate chain (kubectl create secret tls NAME --cert=FILE --key=FILE)' });
  else if (!crt.ok) problems.push(crt.problem);
  else {
    crtField = crt.field;
    const r = parseCerts(crt.text, 'tls.crt', crt.field);
    if (r.ok) certs = r.value;
    else problems.push(...r.problems);
  }
  let keyField = keyPath('data', 'tls.key');
  let tpmKeyPem: string | null = null;
  if (key === null) problems.push({ field: keyField, message: 'tls.key is missing: add the PEM private key of the certificate' });
  else if (!key.ok) problems.push(key.problem);
  else {
    keyField = key.field;
    const m = KEY_BLOCK.exec(key.text);
    if (!m && TSS2_BLOCK.test(key.text)) {
      const r = checkTpmKey(key.text, key.field, certs?.[0], opts);
      if (r.ok) tpmKeyPem = r.value;
      else problems.push(...r.problems);
    } else if (!m) problems.push({ field: key.field, message: 'tls.key holds no PEM private key (-----BEGIN PRIVATE KEY-----): put the certificate\'s private key there' });
    else if (m[1] === 'ENCRYPTED PRIVATE KEY') problems.push({ field: key.field, message: 'tls.key is encrypted: store the key without a passphrase (openssl pkey -in key.pem -out plain.pem)' });
    else {
      try {
        privateKey = createPrivateKey(m[0]);
      } catch (e) {
        problems.push({ field: key.field, message: `tls.key does not parse (${errorText(e)}): replace it with the certificate's PEM private key` });
      }
    }
  }
  if (certs && privateKey) {
    const leaf = certs[0]!;
    let matches = false;
    try {
      matches = leaf.checkPrivateKey(privateKey);
    } catch {
      matches = false;
    }
    if (!matches) problems.push({ field: keyField, message: 'tls.key does not belong to the first certificate in tls.crt: put the matching key here, or the leaf certificate first in tls.crt' });
  }
  let notAfter = '';
  if (certs) {
    const t = Date.parse(certs[0]!.validTo);
    if (!Number.isFinite(t)) problems.push({ field: crtField, message: 'the certificate\'s expiry date cannot be read: replace the certificate' });
    else {
      notAfter = new Date(t).toISOString();
      if (t <= now.getTime()) problems.push({ field: crtField, message: `the certificate expired on ${notAfter}: renew it and update the Secret` });
    }
  }
  if (problems.length === 0 && certs && tpmKeyPem !== null) return { ok: true, value: { pem: `${pemOf(certs)}\n${tpmKeyPem}\n`, notAfter, leaf: certs[0]! } };
  if (problems.length > 0 || !certs || !privateKey) return { ok: false, problems };
  let keyPem: string;
  try {
    keyPem = String(privateKey.export({ type: 'pkcs8', format: 'pem' })).replace(/\r\n/g, '\n').trim();
  } catch (e) {
    return { ok: false, problems: [{ field: keyField, message: `tls.key cannot be used (${errorText(e)}): replace it with a PEM private key` }] };
  }
  return { ok: true, value: { pem: `${pemOf(certs)}\n${keyPem}\n`, notAfter, leaf: certs[0]! } };
}

/** Checks a Secret as a CA bundle for verifying endpoints: type, and ca.crt holding PEM certificates. */
export function checkCaSecret(secret: StoredObject): Checked<CaMaterial> {
  const problems: SecretProblem[] = [];
  const typeProblem = checkType(secret);
  if (typeProblem) problems.push(typeProblem);
  const ca = readKey(secret, 'ca.crt');
  if (ca === null) problems.push({ field: keyPath('data', 'ca.crt'), message: 'ca.crt is missing: add the PEM certificates of the CA that signed the endpoints\' certificates' });
  else if (!ca.ok) problems.push(ca.problem);
  else {
    const r = parseCerts(ca.text, 'ca.crt', ca.field);
    if (!r.ok) problems.push(...r.problems);
    else if (problems.length === 0) return { ok: true, value: { pem: `${pemOf(r.value)}\n` } };
  }
  return { ok: false, problems };
}

export const FALLBACK_MESSAGE = 'serving the last valid version of this object until it is fixed';

/**
 * Looks Secrets up for Ingresses, checks each one once per use (serving TLS, CA), falls back to
 * the last accepted version, and keeps the diagnostics about the Secrets themselves.
 */
export class SecretResolver {
  private readonly tlsCache = new Map<string, Resolved<TlsMaterial>>();
  private readonly caCache = new Map<string, Resolved<CaMaterial>>();
  private readonly diags: Diagnostic[] = [];

  constructor(
    private readonly secrets: ReadonlyMap<string, StoredObject>,
    private readonly lastAccepted: ReadonlyMap<string, StoredObject> | undefined,
    private readonly now: Date,
    private readonly keys: KeyOptions = { tpmKeys: false },
  ) {}

  tls(namespace: string, name: string): Resolved<TlsMaterial> {
    return this.resolve(this.tlsCache, namespace, name, (s) => checkTlsSecret(s, this.now, this.keys));
  }

  ca(namespace: string, name: string): Resolved<CaMaterial> {
    return this.resolve(this.caCache, namespace, name, checkCaSecret);
  }

  diagnostics(): Diagnostic[] {
    return [...this.diags];
  }

  private resolve<T>(
    cache: Map<string, Resolved<T>>,
    namespace: string,
    name: string,
    check: (s: StoredObject) => Checked<T>,
  ): Resolved<T> {
    const key = objectKey({ kind: 'Secret', namespace, name });
    const hit = cache.get(key);
    if (hit) return hit;
    let result: Resolved<T>;
    const cur = this.secrets.get(key);
    if (!cur) result = { status: 'missing' };
    else {
      const r = check(cur);
      if (r.ok) result = { status: 'ok', version: cur, value: r.value, fellBack: false };
      else {
        for (const p of r.problems) this.diags.push({ severity: 'error', object: refOf(cur), field: p.field, message: p.message });
        result = { status: 'invalid', reason: r.problems.map((p) => p.message).join('; ') };
        const last = this.lastAccepted?.get(key);
        if (last && last !== cur && last.kind === 'Secret' && last.namespace === namespace && last.name === name && isRecord(last.raw)) {
          const r2 = check(last);
          if (r2.ok) {
            result = { status: 'ok', version: last, value: r2.value, fellBack: true };
            this.diags.push({ severity: 'warning', object: refOf(cur), field: '', message: FALLBACK_MESSAGE });
          }
        }
      }
    }
    cache.set(key, result);
    return result;
  }
}
