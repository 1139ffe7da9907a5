import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../../bench/lib/result.js';

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'run.js');

/**
 * Runs `npm run bench -- NAME --smoke` as CI does (the compiled runner, a temp --out dir) and returns the
 * result it wrote; rejects with the runner's output when it fails or outlives `timeoutMs`.
 */
export function smokeRun(name: string, timeoutMs: number): Promise<BenchResult> {
  const out = mkdtempSync(join(tmpdir(), `gh-smoke-${name}-`));
  return new Promise<BenchResult>((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, name, '--smoke', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`bench ${name} --smoke ended with ${signal ?? `exit ${code}`}:\n${output.slice(-4000)}`);
        resolve(JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as BenchResult);
      } catch (e) {
        reject(e);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  });
}
