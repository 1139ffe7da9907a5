import { execFileSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { readFileSync } from 'node:fs';

/** The machine and the versions of everything a benchmark ran, so that figures can be compared. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  versions: Record<string, string>;
}

function firstLine(cmd: string, args: string[], pattern: RegExp): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    return out.split('\n').find((l) => pattern.test(l))?.trim() ?? 'unknown';
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    const text = `${err.stdout ?? ''}\n${err.stderr ?? ''}`;
    return text.split('\n').find((l) => pattern.test(l))?.trim() ?? 'not found';
  }
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    os: osName(),
    versions: {
      node: process.version,
      haproxy: firstLine('haproxy', ['-v'], /version/).replace(/^HAProxy version /, '').split(' ')[0] ?? 'unknown',
      openssl: firstLine('openssl', ['version'], /OpenSSL/),
      nginx: firstLine('sh', ['-c', 'nginx -v 2>&1'], /nginx version/).replace(/^nginx version: /, ''),
      h2load: firstLine('sh', ['-c', 'h2load --version 2>&1'], /nghttp2/),
      wrk: firstLine('sh', ['-c', 'wrk -v 2>&1'], /wrk/).split(' [')[0] ?? 'unknown',
    },
  };
}
