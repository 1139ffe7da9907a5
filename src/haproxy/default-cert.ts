import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from './files.js';

const run = promisify(execFile);

/**
 * The certificate served for unknown SNI names: a self-signed ECDSA P-256 certificate made once by
 * openssl and kept (0600) in the state directory, so restarts serve the same one.
 */
export async function ensureDefaultCertificate(path: string): Promise<void> {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = mkdtempSync(join(dirname(path), '.default-cert-'));
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-subj', '/O=Gatehouse/CN=gatehouse-default', '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'),
    ]);
    writeFileAtomic(path, readFileSync(join(tmp, 'cert.pem'), 'utf8') + readFileSync(join(tmp, 'key.pem'), 'utf8'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
