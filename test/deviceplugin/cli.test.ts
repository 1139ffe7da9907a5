/**
 * `gatehouse device-plugin` as a real process: its flags, and a run against a fixture node and the
 * kubelet stand-in, from the repository and from the image's layout (the Dockerfile's COPY lines
 * replayed into a temp /app), which proves the .proto ships where the compiled module reads it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeKubelet } from '../helpers/kubelet.js';
import { QatFixture } from '../helpers/qat-sysfs.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const GENERIC = 'qat.intel.com/generic';
const WAIT = 15_000;

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'device-plugin', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('gatehouse device-plugin (flags)', () => {
  it('documents its flags and their defaults in --help', () => {
    const r = cli('--help');
    assert.equal(r.code, 0);
    for (const [flag, dflt] of [
      ['--kubelet-dir DIR', 'default: /var/lib/kubelet/device-plugins'],
      ['--sysfs-root DIR', 'default: /sys'],
      ['--dev-root DIR', 'default: /dev'],
      ['--resource-naming generic|services', 'default: generic'],
      ['--allocation-policy balanced|packed', 'default: balanced'],
      ['--max-devices N', 'from 1 to 65536'],
      ['--rescan-interval DURATION', 'default: 5s'],
      ['--bind', 'off by default'],
    ]) {
      const line = r.stdout.split('\n').find((l) => l.trimStart().startsWith(flag));
      assert.ok(line, `${flag} in the help`);
      assert.ok(line.includes(dflt), `${flag}: ${dflt}`);
    }
  });

  it('exits 2 with a message naming the flag and what to write', () => {
    const cases: [string[], RegExp][] = [
      [['--allocation-policy', 'spread'], /--allocation-policy must be one of balanced, packed; got "spread"/],
      [['--resource-naming', 'gpu'], /--resource-naming must be one of generic, services/],
      [['--rescan-interval', '5x'], /--rescan-interval: "5x" is not a duration/],
      [['--rescan-interval', '10ms'], /--rescan-interval 10ms is too short/],
      [['--max-devices', '0'], /--max-devices must be an integer from 1 to 65536/],
      [['--bind=yes'], /--bind takes no value/],
      [['--kubelet'], /unknown flag --kubelet \(did you mean --kubelet-dir\?\)/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.match(r.stderr, /Run "gatehouse device-plugin --help"/);
    }
  });
});

interface Running {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

function start(main: string, fx: QatFixture, cwd: string, extra: string[] = []): Running {
  const child = spawn(process.execPath, [main, 'device-plugin', '--sysfs-root', fx.sysfs, '--dev-root', fx.dev, '--kubelet-dir', fx.kubeletDir, '--rescan-interval', '200ms', ...extra], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line, level: 'raw' });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

function node(): QatFixture {
  const fx = new QatFixture();
  fx.addPf('0000:6b:00.0', { numa: 0, heartbeat: '0' });
  fx.addVf('0000:6b:00.1', { pf: '0000:6b:00.0', numa: 0 });
  fx.addVf('0000:6b:00.2', { pf: '0000:6b:00.0', numa: 0 });
  fx.addVf('0000:0a:00.0', { numa: -1 });
  return fx;
}

/** Starts the CLI with a stand-in kubelet, checks what a kubelet would, stops it with SIGTERM. */
async function runAndCheck(main: string, cwd: string): Promise<void> {
  const fx = node();
  const kubelet = new FakeKubelet(fx.kubeletDir);
  let run: Running | undefined;
  try {
    await kubelet.start();
    run = start(main, fx, cwd);
    const r = run;
    await waitFor(() => (kubelet.latest(GENERIC)?.length ?? 0) > 0 || r.child.exitCode !== null, WAIT, 'the plugin to register and list its devices');
    assert.equal(r.child.exitCode, null, `still running; its log: ${JSON.stringify(r.lines)}`);
    assert.deepEqual(kubelet.registrations.map((x) => [x.version, x.resource_name, x.endpoint]), [['v1beta1', GENERIC, 'gatehouse-qat-generic.sock']]);
    assert.deepEqual(kubelet.health(GENERIC), { '0000:0a:00.0': 'Healthy', '0000:6b:00.1': 'Healthy', '0000:6b:00.2': 'Healthy' });

    fx.setHeartbeat('0000:6b:00.0', '-1');
    await waitFor(() => kubelet.health(GENERIC)['0000:6b:00.1'] === 'Unhealthy', WAIT, 'the failed heartbeat to show');
    assert.equal(kubelet.health(GENERIC)['0000:0a:00.0'], 'Healthy');
    const res = await kubelet.allocate(GENERIC, [['0000:0a:00.0']]);
    assert.deepEqual(res.container_responses[0]!.envs, { QAT0: '0000:0a:00.0' });

    await waitFor(() => r.lines.some((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('registered qat.intel.com/generic')), WAIT, 'the registration log line');
    const msgs = r.lines.map((l) => String(l['msg']));
    assert.ok(msgs.includes('gatehouse device-plugin starting'));
    assert.ok(msgs.some((m) => /^found 1 QAT physical function\(s\) and 3 virtual function\(s\)/.test(m)), msgs.join('\n'));
    assert.ok(r.lines.every((l) => l['level'] !== 'raw' && typeof l['time'] === 'string'), 'every log line is JSON with a time');

    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0);
    assert.ok(!existsSync(join(fx.kubeletDir, 'gatehouse-qat-generic.sock')), 'its socket is removed on exit');
  } finally {
    if (run && run.child.exitCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    await kubelet.stop();
    fx.cleanup();
  }
}

describe('gatehouse device-plugin (process)', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('registers with the kubelet, streams its devices and their health, allocates, and stops on SIGTERM', async () => {
    await runAndCheck(MAIN, ROOT);
  });

  it('runs the same from the image layout (the Dockerfile\'s runtime COPY lines), from another directory', async () => {
    const image = mkdtempSync(join(tmpdir(), 'gatehouse-image-'));
    dirs.push(image);
    const app = join(image, 'app');
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const copies = [...runtime.matchAll(/^COPY\s+--from=build\s+\/src\/(\S+)\s+(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!] as const);
    assert.ok(copies.some(([from]) => from === 'src/deviceplugin/proto'), 'the Dockerfile copies the .proto');
    for (const [from, to] of copies) {
      const dest = join(app, to);
      mkdirSync(dirname(dest), { recursive: true });
      // node_modules is linked, not copied: the same packages, without the wait.
      if (from === 'node_modules') symlinkSync(join(ROOT, from), dest);
      else cpSync(join(ROOT, from), dest, { recursive: true });
    }
    assert.ok(!existsSync(join(app, 'src/cli')), 'only the .proto of the sources is in the image');
    await runAndCheck(join(app, 'dist/src/cli/main.js'), image);
  });
});
