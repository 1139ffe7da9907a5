import { join } from 'node:path';
import { checkConfig } from '../haproxy/check.js';
import { writeFileAtomic } from '../haproxy/files.js';
import { offloadLines } from '../haproxy/render.js';
import type { OffloadConfig, ProbeResult } from './offload.js';

/**
 * Does HAProxy load these providers (or this engine)? `haproxy -c` on a configuration with only
 * them, written to `dir`: OpenSSL loads and initialises each one while HAProxy parses it, so a
 * missing module, a provider that fails its own start-up or an unknown engine is an error here.
 */
export async function probeOffload(binary: string, config: OffloadConfig, dir: string): Promise<ProbeResult> {
  const path = join(dir, 'offload-probe.cfg');
  const text = [
    'global',
    ...offloadLines(config),
    'defaults',
    '  mode http',
    '  timeout client 1s',
    '  timeout server 1s',
    '  timeout connect 1s',
    'frontend probe',
    '  bind 127.0.0.1:1',
    '',
  ].join('\n');
  writeFileAtomic(path, text);
  try {
    const check = await checkConfig(binary, path);
    if (check.ok) return { ok: true };
    const alerts = check.alerts.filter((a) => !/Error\(s\) found|Fatal errors found|: \(null\)$/.test(a));
    return { ok: false, error: (alerts.length > 0 ? alerts : [check.output]).join('; ') };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}
