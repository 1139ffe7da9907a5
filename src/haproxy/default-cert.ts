import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from './files.js';

const run = promisify(execFile);

/**
 * A new self-signed ECDSA P-256 certificate (ten years) and its key, PEM, made by openssl. `altNames`
 * is an openssl subjectAltName value (`IP:127.0.0.1,DNS:localhost`).
 */
export async function makeSelfSignedCertificate(commonName: string, altNames?: string): Promise<{ cert: string; key: string }> {
  const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-cert-'));
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-subj', `/O=Gatehouse/CN=${commonName}`, ...(altNames ? ['-addext', `subjectAltName=${altNames}`] : []),
      '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'),
    ]);
    return { cert: readFileSync(join(tmp, 'cert.pem'), 'utf8'), key: readFileSync(join(tmp, 'key.pem'), 'utf8') };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The certificate served for unknown SNI names: a self-signed ECDSA P-256 certificate made once by
 * openssl and kept (0600) in the state directory, so restarts serve the same one.
 */
export async function ensureDefaultCertificate(path: string): Promise<void> {
  if (existsSync(path)) return;
  const { cert, key } = await makeSelfSignedCertificate('gatehouse-default');
  writeFileAtomic(path, cert + key);
}
