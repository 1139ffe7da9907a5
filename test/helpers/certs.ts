import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  cert: string;
  key: string;
  /** Certificate then key, as HAProxy loads it. */
  pem: string;
}

/** A self-signed certificate made by the real openssl for `names` (first = CN, all in SAN). */
export function makeCert(names: string[], opts: { days?: number; type?: 'ec' | 'rsa' } = {}): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'gh-cert-'));
  try {
    const keyArgs = opts.type === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    const san = names.map((n) => `DNS:${n}`).join(',');
    execFileSync('openssl', [
      'req', '-x509', ...keyArgs, '-nodes', '-days', String(opts.days ?? 30),
      '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'pipe' });
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    return { cert, key, pem: cert + key };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
