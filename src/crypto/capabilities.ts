/**
 * What the HAProxy binary can do for TLS offload, read from `haproxy -vv`: OpenSSL providers
 * (HAProxy 2.6+ built with OpenSSL 3), ENGINEs (builds with +ENGINE only), asynchronous crypto.
 */
import { execFile } from 'node:child_process';

export interface HaproxyCapabilities {
  /** `2.6.12-1+deb12u4`. */
  version: string;
  /** The OpenSSL HAProxy runs on, e.g. `OpenSSL 3.0.19 27 Jan 2026`; null if not shown. */
  openssl: string | null;
  /** `ssl-provider`, `ssl-provider-path`, `ssl-propquery`: HAProxy ≥ 2.6 built with OpenSSL ≥ 3. */
  providers: boolean;
  /** `ssl-engine`: the feature list shows +ENGINE. */
  engine: boolean;
  /** `ssl-mode-async`: OpenSSL ≥ 1.1.0. */
  async: boolean;
}

function versionAtLeast(text: string | undefined, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(text ?? '');
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/** Parses the output of `haproxy -vv`. Pure. */
export function parseVersionInfo(text: string): HaproxyCapabilities {
  const version = /^HAProxy version (\S+)/m.exec(text)?.[1] ?? 'unknown';
  const features = /^Feature list : (.*)$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
  const built = /^Built with OpenSSL version : OpenSSL (\S+)/m.exec(text)?.[1];
  const running = /^Running on OpenSSL version : (.+)$/m.exec(text)?.[1]?.trim() ?? null;
  const ssl = features.includes('+OPENSSL') || built !== undefined;
  return {
    version,
    openssl: running,
    providers: ssl && versionAtLeast(version, 2, 6) && versionAtLeast(built, 3, 0),
    engine: features.includes('+ENGINE'),
    async: ssl && versionAtLeast(built, 1, 1),
  };
}

/** Runs `<binary> -vv`. Rejects when the binary cannot be run. */
export function probeCapabilities(binary: string): Promise<HaproxyCapabilities> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['-vv'], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`cannot run ${binary} -vv: ${err.message}`));
      else resolve(parseVersionInfo(stdout + stderr));
    });
  });
}
