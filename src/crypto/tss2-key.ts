/**
 * TPM-wrapped private keys (`-----BEGIN TSS2 PRIVATE KEY-----`, the format of tpm2-openssl and
 * tpm2-tss-engine): the private part is encrypted by the TPM and usable only inside it, through the
 * tpm2 provider. What can be checked here is the structure and the public key, which the file
 * carries in clear as a TPM2B_PUBLIC, so that it can be matched with the certificate.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

export const TSS2_BLOCK = /-----BEGIN TSS2 PRIVATE KEY-----\r?\n([\s\S]*?)-----END TSS2 PRIVATE KEY-----/;

/** id-loadablekey, 2.23.133.10.1.3: a key to load under a parent in the TPM. */
const LOADABLE_KEY_OID = '2.23.133.10.1.3';

export interface Tss2Key {
  /** The key as PEM, re-encoded from the parsed DER. */
  pem: string;
  publicKey: KeyObject;
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    private pos = 0,
  ) {}
  get done(): boolean {
    return this.pos === this.buf.length;
  }
  take(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u16(): number {
    return this.take(2).readUInt16BE(0);
  }
  u32(): number {
    return this.take(4).readUInt32BE(0);
  }
  /** A TPM2B: a 16-bit size, then that many bytes. */
  sized(): Buffer {
    return this.take(this.u16());
  }
  /** A DER element: its tag and contents (definite lengths only). */
  der(): { tag: number; body: Buffer } {
    const tag = this.take(1)[0]!;
    let len = this.take(1)[0]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3) throw new Error('bad DER length');
      len = this.take(n).reduce((a, b) => a * 256 + b, 0);
    }
    return { tag, body: this.take(len) };
  }
}

function oidText(b: Buffer): string {
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (const byte of b.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

const TPM_ALG_RSA = 0x0001;
const TPM_ALG_ECC = 0x0023;
const TPM_ALG_NULL = 0x0010;
const CURVES: Readonly<Record<number, string>> = { 0x0003: 'P-256', 0x0004: 'P-384', 0x0005: 'P-521' };

const b64url = (b: Buffer): string => b.toString('base64url');

/** TPMT_PUBLIC (inside a TPM2B_PUBLIC) → the public key. */
function publicFromTpm(tpm2b: Buffer): KeyObject {
  const r = new Reader(new Reader(tpm2b).sized());
  const type = r.u16();
  r.u16(); // nameAlg
  r.u32(); // objectAttributes
  r.sized(); // authPolicy
  if (r.u16() !== TPM_ALG_NULL) r.take(4); // symmetric: keyBits, mode
  if (r.u16() !== TPM_ALG_NULL) r.u16(); // scheme: hashAlg
  if (type === TPM_ALG_RSA) {
    r.u16(); // keyBits
    const exponent = r.u32() || 65537;
    const n = r.sized();
    const e = Buffer.alloc(4);
    e.writeUInt32BE(exponent);
    return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e.subarray(e.findIndex((x) => x !== 0))) }, format: 'jwk' });
  }
  if (type === TPM_ALG_ECC) {
    const crv = CURVES[r.u16()];
    if (!crv) throw new Error('an elliptic curve other than P-256, P-384 or P-521');
    if (r.u16() !== TPM_ALG_NULL) r.u16(); // kdf: hashAlg
    const [x, y] = [r.sized(), r.sized()];
    return createPublicKey({ key: { kty: 'EC', crv, x: b64url(x), y: b64url(y) }, format: 'jwk' });
  }
  throw new Error(`a key type (0x${type.toString(16)}) other than RSA or ECC`);
}

/** Parses a TSS2 PRIVATE KEY PEM block. Throws with what is wrong. */
export function parseTss2Key(pem: string): Tss2Key {
  const m = TSS2_BLOCK.exec(pem);
  if (!m) throw new Error('no TSS2 PRIVATE KEY block');
  const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const outer = new Reader(der).der();
  if (outer.tag !== 0x30) throw new Error('not an ASN.1 SEQUENCE');
  const r = new Reader(outer.body);
  const oid = r.der();
  if (oid.tag !== 0x06 || oidText(oid.body) !== LOADABLE_KEY_OID) throw new Error(`not a loadable key (type ${oid.tag === 0x06 ? oidText(oid.body) : '?'}, expected ${LOADABLE_KEY_OID})`);
  let el = r.der();
  if (el.tag === 0xa0) el = r.der(); // [0] emptyAuth
  if (el.tag !== 0x02) throw new Error('no parent handle');
  const pub = r.der();
  const priv = r.der();
  if (pub.tag !== 0x04 || priv.tag !== 0x04 || priv.body.length === 0) throw new Error('no public or private part');
  const publicKey = publicFromTpm(pub.body);
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n').trim();
  return { pem: `-----BEGIN TSS2 PRIVATE KEY-----\n${body}\n-----END TSS2 PRIVATE KEY-----`, publicKey };
}
