import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTss2Key } from '../../src/crypto/tss2-key.js';
import { checkTlsSecret } from '../../src/translate/secrets.js';
import { makeCert } from '../helpers/certs.js';
import { makeTpmKeyAndCert, startSoftwareTpm, type SoftwareTpm, type TpmKeyAndCert } from '../helpers/tpm.js';
import type { StoredObject } from '../../src/store/objects.js';

const spki = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' });

function secret(crt: string, key: string): StoredObject {
  return { kind: 'Secret', apiVersion: 'v1', namespace: 'default', name: 'tpm', annotations: {}, labels: {}, raw: { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'tpm', namespace: 'default' }, stringData: { 'tls.crt': crt, 'tls.key': key } } };
}

describe('TSS2 PRIVATE KEY files made by a real TPM (swtpm + tpm2-openssl)', () => {
  let dir: string;
  let tpm: SoftwareTpm;
  let rsa: TpmKeyAndCert;
  let ec: TpmKeyAndCert;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-tss2-'));
    tpm = await startSoftwareTpm(dir);
    rsa = await makeTpmKeyAndCert(tpm, dir, { cn: 'rsa.tpm.test' });
    ec = await makeTpmKeyAndCert(tpm, dir, { cn: 'ec.tpm.test', keyType: 'ec' });
  });
  after(async () => {
    await tpm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the public key the TPM reports, for RSA and P-256', () => {
    for (const k of [rsa, ec]) {
      const parsed = parseTss2Key(readFileSync(k.keyPath, 'utf8'));
      assert.ok(parsed.publicKey.export({ type: 'spki', format: 'der' }).equals(spki(k.publicKeyPem)), k.keyPath);
      assert.equal(parsed.pem.replace(/\s+/g, ''), readFileSync(k.keyPath, 'utf8').replace(/\s+/g, ''), 'the re-encoded PEM is the same key');
    }
  });

  it('refuses a damaged file with what is wrong', () => {
    const text = readFileSync(rsa.keyPath, 'utf8');
    const der = Buffer.from(text.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const pem = (b: Buffer) => `-----BEGIN TSS2 PRIVATE KEY-----\n${b.toString('base64')}\n-----END TSS2 PRIVATE KEY-----\n`;
    assert.throws(() => parseTss2Key(pem(der.subarray(0, der.length - 40))), /truncated/);
    const wrongOid = Buffer.from(der);
    wrongOid[wrongOid.indexOf(Buffer.from([0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03])) + 7] = 0x05;
    assert.throws(() => parseTss2Key(pem(wrongOid)), /not a loadable key \(type 2\.23\.133\.10\.1\.5/);
    assert.throws(() => parseTss2Key('-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----'), /no TSS2 PRIVATE KEY block/);
  });

  it('a TLS Secret with it: refused without the tpm2 provider required, accepted with it, and matched to the certificate', () => {
    const now = new Date();
    const key = readFileSync(rsa.keyPath, 'utf8');
    const crt = readFileSync(rsa.certPath, 'utf8');
    const without = checkTlsSecret(secret(crt, key), now);
    assert.equal(without.ok, false);
    assert.match((without as { problems: Array<{ message: string }> }).problems[0]!.message, /TPM-wrapped key \(TSS2 PRIVATE KEY\).*set ssl-provider "tpm2", ssl-propquery "\?provider=tpm2" and crypto-offload "required"/);
    const ok = checkTlsSecret(secret(crt, key), now, { tpmKeys: true });
    assert.ok(ok.ok);
    assert.match(ok.value.pem, /-----END CERTIFICATE-----\n-----BEGIN TSS2 PRIVATE KEY-----\n/);
    const other = makeCert(['other.test']);
    const mismatch = checkTlsSecret(secret(other.cert, key), now, { tpmKeys: true });
    assert.equal(mismatch.ok, false);
    assert.match((mismatch as { problems: Array<{ field: string; message: string }> }).problems[0]!.message, /does not belong to the first certificate/);
    const ecMismatch = checkTlsSecret(secret(crt, readFileSync(ec.keyPath, 'utf8')), now, { tpmKeys: true });
    assert.equal(ecMismatch.ok, false, 'the EC key is not the RSA certificate\'s');
  });
});
