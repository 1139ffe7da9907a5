import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd } from './procs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const source = join(root, 'bench', 'tools', 'tls-handshakes.c');
const binary = join(root, 'dist', 'bench', 'tools', 'tls-handshakes');

export interface HandshakeRun {
  handshakes: number;
  resumed: number;
  errors: number;
  seconds: number;
  clientCpuSeconds: number;
}

/** Compiles bench/tools/tls-handshakes.c (cc, OpenSSL headers) when the binary is missing or older. */
export async function buildHandshakeTool(): Promise<string> {
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(dirname(binary), { recursive: true });
  await runToEnd('cc', ['-O2', '-Wall', '-o', binary, source, '-lssl', '-lcrypto'], 60_000);
  return binary;
}

/** Full (`new`) or resumed (`reuse`) TLS handshakes against 127.0.0.1:`port` with SNI `sni`, each with one small request. */
export async function handshakes(o: { port: number; sni: string; version: '1.2' | '1.3'; mode: 'new' | 'reuse'; seconds: number; processes: number }): Promise<HandshakeRun> {
  const tool = await buildHandshakeTool();
  const { stdout } = await runToEnd(tool, ['127.0.0.1', String(o.port), o.sni, o.version, o.mode, String(o.seconds), String(o.processes)], (o.seconds + 30) * 1000);
  return JSON.parse(stdout) as HandshakeRun;
}
