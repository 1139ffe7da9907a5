import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
// the configuration is replaced as the data plane does it (temp file, rename): HAProxy restarting while
// the file is rewritten in place can read it empty, and an empty file starts a master whose worker never
// answers, until the start timeout
import { writeFileAtomic } from '../../src/haproxy/files.js';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkConfig, Supervisor, type SupervisorOptions } from '../../src/haproxy/supervisor.js';
import { startEchoBackend } from '../helpers/backends.js';
import { request } from '../helpers/client.js';
import { freePort } from '../helpers/ports.js';
import { isRunning, killAll, pidsWithArgument } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

interface LogEntry {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

interface Rig {
  dir: string;
  configPath: string;
  port: number;
  sup: Supervisor;
  logs: LogEntry[];
  /** The configuration with the frontend on `port` and one server on `backendPort`. */
  config(backendPort?: number): string;
  serving(): Promise<boolean>;
}

function haproxyConfig(dir: string, port: number, backendPort: number): string {
  return `# stats socket with expose-fd listeners: reloads hand the listening sockets over
global
  stats socket ${dir}/admin.sock mode 600 level admin expose-fd listeners
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server s1 127.0.0.1:${backendPort}
`;
}

/** A temp dir, an echo backend, a config and a Supervisor on it; every process it made is gone after `t`. */
async function rig(t: TestContext, opts: Partial<SupervisorOptions> = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-sup-'));
  const backend = await startEchoBackend('A');
  const port = await freePort();
  const configPath = join(dir, 'haproxy.cfg');
  const config = (backendPort = backend.port): string => haproxyConfig(dir, port, backendPort);
  writeFileAtomic(configPath, config());
  const logs: LogEntry[] = [];
  const sup = new Supervisor({
    configPath,
    masterSocket: join(dir, 'master.sock'),
    runtimeSocket: join(dir, 'admin.sock'),
    log: (level, msg, fields) => logs.push({ level, msg, fields }),
    stopGraceMs: 3000,
    ...opts,
  });
  t.after(async () => {
    await Promise.race([sup.stop(), new Promise((r) => setTimeout(r, 8000).unref())]);
    killAll(pidsWithArgument(dir));
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const serving = async (): Promise<boolean> => {
    try {
      return (await request(port, { timeoutMs: 500 })).backend === 'A';
    } catch {
      return false;
    }
  };
  return { dir, configPath, port, sup, logs, config, serving };
}

/** Whether a TCP connection to 127.0.0.1:`port` is refused (nothing listens). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

const hasSetpriv = ((): boolean => {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    try {
      accessSync(join(dir, 'setpriv'), constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
})();

test('checkConfig: a valid configuration passes, a broken one fails with HAProxy\'s message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ok.cfg'), haproxyConfig(dir, 1, 2));
  const ok = await checkConfig('haproxy', join(dir, 'ok.cfg'));
  assert.equal(ok.ok, true, ok.output);
  assert.deepEqual(ok.alerts, []);
  writeFileSync(join(dir, 'bad.cfg'), `${haproxyConfig(dir, 1, 2)}  bogus_directive on\n`);
  const bad = await checkConfig('haproxy', join(dir, 'bad.cfg'));
  assert.equal(bad.ok, false);
  assert.match(bad.output, /parsing \[.*bad\.cfg:14\] : unknown keyword 'bogus_directive' in 'backend' section/);
  assert.ok(bad.alerts.some((a) => /unknown keyword 'bogus_directive'/.test(a)), bad.alerts.join('\n'));
  const missing = await checkConfig('haproxy', join(dir, 'missing.cfg'));
  assert.equal(missing.ok, false);
  assert.match(missing.output, /Cannot open configuration file/);
  await assert.rejects(() => checkConfig(join(dir, 'no-such-haproxy'), join(dir, 'ok.cfg')), /cannot run/);
});

test('start serves; reload brings a new worker under the same master; the old worker exits', async (t) => {
  const { sup, serving, logs } = await rig(t);
  await sup.start();
  assert.ok(await serving());
  const master = sup.masterPid;
  const first = sup.workerPid;
  assert.ok(master && first && master !== first);
  assert.ok(isRunning(master) && isRunning(first));
  await assert.rejects(() => sup.start(), /already running/);
  assert.ok(logs.some((l) => l.msg.includes('New worker') && l.fields?.['source'] === 'haproxy'), 'HAProxy output is forwarded');

  await sup.reload();
  assert.equal(sup.reloads, 1);
  assert.equal(sup.masterPid, master);
  assert.ok(sup.workerPid !== undefined && sup.workerPid !== first);
  assert.ok(await serving());
  await waitFor(() => !isRunning(first), 5000, 'the old worker to exit');
  assert.equal(sup.restarts, 0);
});

test('reloads asked for while one runs coalesce into exactly one more', async (t) => {
  const { sup, serving } = await rig(t);
  await sup.start();
  const workers = new Set([sup.workerPid]);
  const all = [sup.reload(), sup.reload(), sup.reload(), sup.reload(), sup.reload()];
  await all[0];
  workers.add(sup.workerPid);
  await Promise.all(all);
  workers.add(sup.workerPid);
  assert.equal(sup.reloads, 2);
  assert.equal(workers.size, 3, 'two new workers, one per reload');
  await sup.reload();
  assert.equal(sup.reloads, 3);
  assert.ok(await serving());
});

test('a configuration that does not load: reload rejects with HAProxy\'s alert and the old worker keeps serving', async (t) => {
  const { sup, serving, configPath, config } = await rig(t);
  await sup.start();
  const worker = sup.workerPid;
  writeFileAtomic(configPath, `${config()}  bogus_directive on\n`);
  await assert.rejects(() => sup.reload(), /did not load the new configuration[\s\S]*unknown keyword 'bogus_directive'/);
  assert.equal(sup.reloads, 0);
  assert.equal(sup.workerPid, worker);
  assert.ok(await serving());
  writeFileAtomic(configPath, config());
  await sup.reload();
  assert.equal(sup.reloads, 1);
  assert.notEqual(sup.workerPid, worker);
  assert.ok(await serving());
});

test('no request fails across 20 reloads under continuous load', async (t) => {
  const { sup, port } = await rig(t);
  await sup.start();
  let done = false;
  const deadline = Date.now() + 30_000;
  const failures: string[] = [];
  let ok = 0;
  const loop = async (): Promise<void> => {
    for (let n = 0; n < 20_000 && !done && Date.now() < deadline; n++) {
      try {
        const reply = await request(port, { timeoutMs: 3000 });
        if (reply.status === 200 && reply.backend === 'A') ok++;
        else failures.push(`status ${reply.status}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const loops = [loop(), loop()];
  try {
    for (let i = 0; i < 20; i++) await sup.reload();
  } finally {
    done = true;
    await Promise.all(loops);
  }
  assert.equal(sup.reloads, 20);
  assert.deepEqual(failures, [], `${failures.length} of ${ok + failures.length} requests failed`);
  assert.ok(ok >= 40, `only ${ok} requests were made during the reloads`);
});

test('SIGKILL of the master: HAProxy serves again within a second, the restart is counted and logged', async (t) => {
  const { sup, serving, logs } = await rig(t);
  await sup.start();
  const reasons: string[] = [];
  sup.on('restart', (reason: string) => reasons.push(reason));
  const master = sup.masterPid!;
  const worker = sup.workerPid!;
  process.kill(master, 'SIGKILL');
  const killedAt = Date.now();
  await waitFor(serving, 1000, 'serving again within 1 s of the SIGKILL');
  const after = Date.now() - killedAt;
  await waitFor(() => sup.restarts === 1, 2000, 'the restart to be counted');
  assert.notEqual(sup.masterPid, master);
  assert.notEqual(sup.workerPid, worker);
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, new RegExp(`master ${master} was killed by SIGKILL`));
  assert.ok(logs.some((l) => l.level === 'warn' && l.msg === 'restarting haproxy' && l.fields?.['reason'] === reasons[0]));
  await waitFor(() => !isRunning(worker), 3000, 'the orphaned worker to exit');
  t.diagnostic(`serving again ${after} ms after the kill`);
});

test('SIGKILL of the worker: HAProxy serves again within a second, the restart is counted and logged', async (t) => {
  const { sup, serving } = await rig(t);
  await sup.start();
  const reasons: string[] = [];
  sup.on('restart', (reason: string) => reasons.push(reason));
  const master = sup.masterPid!;
  const worker = sup.workerPid!;
  process.kill(worker, 'SIGKILL');
  const killedAt = Date.now();
  await waitFor(serving, 1000, 'serving again within 1 s of the SIGKILL');
  const after = Date.now() - killedAt;
  await waitFor(() => sup.restarts === 1, 2000, 'the restart to be counted');
  assert.notEqual(sup.workerPid, worker);
  assert.equal(reasons.length, 1);
  // 2.6's master exits when its current worker dies (exit-on-failure)
  assert.match(reasons[0]!, new RegExp(`worker ${worker} exited with code 137 \\(Killed\\), then the master exited with code 137`));
  assert.ok(!isRunning(master));
  await sup.reload();
  assert.ok(await serving(), 'the restarted HAProxy reloads as well');
  t.diagnostic(`serving again ${after} ms after the kill`);
});

test('soft stops: a request in flight finishes on the old worker after a reload, and across stop(); then no HAProxy process is left', async (t) => {
  const held: Array<() => void> = [];
  const slow = createServer((req, res) => {
    const answer = (): void => void res.writeHead(200, { 'x-backend': 'A' }).end(req.url === '/slow' ? 'done' : 'fast');
    if (req.url === '/slow') held.push(answer);
    else answer();
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  t.after(() => {
    slow.closeAllConnections();
    slow.close();
  });
  const r = await rig(t);
  writeFileAtomic(r.configPath, r.config((slow.address() as AddressInfo).port));
  await r.sup.start();
  const exits: unknown[][] = [];
  r.sup.on('exit', (...args: unknown[]) => exits.push(args));

  // reload while a request is in flight: the old worker keeps it until it is answered
  const oldWorker = r.sup.workerPid!;
  const first = request(r.port, { path: '/slow', timeoutMs: 5000 });
  await waitFor(() => held.length === 1, 2000, 'the first request to reach the backend');
  await r.sup.reload();
  assert.ok(isRunning(oldWorker), 'the old worker is still there, finishing its request');
  assert.equal((await request(r.port, { timeoutMs: 2000 })).body, 'fast', 'the new worker serves');
  held[0]!();
  assert.equal((await first).body, 'done');
  await waitFor(() => !isRunning(oldWorker), 3000, 'the old worker to exit once its request is done');

  // stop while a request is in flight
  const pids = [r.sup.masterPid!, r.sup.workerPid!];
  const second = request(r.port, { path: '/slow', timeoutMs: 5000 });
  await waitFor(() => held.length === 2, 2000, 'the second request to reach the backend');
  const stopped = r.sup.stop();
  await waitFor(() => refused(r.port), 2000, 'the listener to close at once');
  assert.ok(isRunning(pids[1]!), 'the worker is still there, finishing its request');
  held[1]!();
  const reply = await second;
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'done');
  await stopped;
  assert.equal(r.sup.masterPid, undefined);
  assert.equal(r.sup.workerPid, undefined);
  assert.deepEqual(exits, [[0, null]]);
  for (const pid of pids) assert.ok(!isRunning(pid), `process ${pid} is gone`);
  assert.deepEqual(pidsWithArgument(r.dir), []);
  await r.sup.stop(); // again: nothing to do
  await assert.rejects(() => r.sup.reload(), /not running/);
});

test('stop gives up on the soft stop after the grace period: SIGTERM', async (t) => {
  const held: Array<() => void> = [];
  const slow = createServer((_req, res) => held.push(() => res.end()));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  t.after(() => {
    slow.closeAllConnections();
    slow.close();
  });
  const r = await rig(t, { stopGraceMs: 300 });
  writeFileAtomic(r.configPath, r.config((slow.address() as AddressInfo).port));
  await r.sup.start();
  const pids = [r.sup.masterPid!, r.sup.workerPid!];
  const hanging = request(r.port, { timeoutMs: 5000 }).then(() => 'answered', (err: Error) => err.message);
  await waitFor(() => held.length === 1, 2000, 'the request to reach the backend');
  const started = Date.now();
  await r.sup.stop();
  assert.ok(Date.now() - started < 3000);
  assert.ok(r.logs.some((l) => l.level === 'warn' && /soft stop: SIGTERM/.test(l.msg)));
  assert.equal(await hanging, 'socket hang up');
  for (const pid of pids) assert.ok(!isRunning(pid), `process ${pid} is gone`);
});

test('stop during a reload: the reload gives up, the master is stopped cleanly, nothing is left', async (t) => {
  const { sup, dir } = await rig(t);
  await sup.start();
  const reloading = sup.reload().then(() => 'reloaded', (err: Error) => err.message);
  await sup.stop();
  assert.match(await reloading, /^(reloaded|Supervisor\.reload: stopped during the reload)$/);
  assert.equal(sup.masterPid, undefined);
  assert.deepEqual(pidsWithArgument(dir), []);
});

test('start with a configuration that does not load rejects with HAProxy\'s message and leaves nothing running', async (t) => {
  const { sup, configPath, config, dir } = await rig(t);
  writeFileAtomic(configPath, `${config()}  bogus_directive on\n`);
  await assert.rejects(() => sup.start(), /exited with code 1 before serving:[\s\S]*unknown keyword 'bogus_directive'/);
  assert.equal(sup.masterPid, undefined);
  assert.deepEqual(pidsWithArgument(dir), []);
  // and it can be started once the configuration is fixed
  writeFileAtomic(configPath, config());
  await sup.start();
  assert.ok(sup.workerPid);
});

test('start with a binary that cannot be run rejects and says why', async (t) => {
  const { sup } = await rig(t, { binary: '/nonexistent/haproxy' });
  await assert.rejects(() => sup.start(), /before serving:[\s\S]*(No such file|ENOENT)/);
  assert.equal(sup.masterPid, undefined);
});

test('an HAProxy that keeps dying is restarted with exponential backoff, and comes back once it can', async (t) => {
  const { sup, serving, logs, configPath, config } = await rig(t, { backoff: { initialMs: 50, maxMs: 400, stableAfterMs: 1000 } });
  await sup.start();
  const restarts: string[] = [];
  sup.on('restart', (reason: string) => restarts.push(reason));
  writeFileAtomic(configPath, `${config()}  bogus_directive on\n`);
  process.kill(sup.workerPid!, 'SIGKILL');
  const delays = (): number[] => logs.filter((l) => l.msg === 'restarting haproxy').map((l) => l.fields?.['delayMs'] as number);
  await waitFor(() => delays().filter((d) => d === 400).length >= 2, 10_000, 'the backoff to reach its cap twice');
  const seen = delays();
  assert.equal(seen[0], 0, 'the first restart is immediate');
  const waited = seen.filter((d) => d > 0);
  assert.deepEqual(waited.slice(0, 5), [50, 100, 200, 400, 400], `delays ${seen.join(', ')}`);
  assert.ok(logs.some((l) => l.msg === 'haproxy restart failed' && /unknown keyword 'bogus_directive'/.test(String(l.fields?.['error']))));
  // every attempt is a restart, counted and announced
  await waitFor(() => sup.restarts >= seen.length, 1000, 'the attempts to be counted');
  assert.equal(restarts.length, sup.restarts);
  assert.match(restarts[0]!, /worker \d+ exited with code 137/);
  assert.match(restarts[1]!, /the restart failed: haproxy exited with code 1 before serving:[\s\S]*bogus_directive/);
  // start() while down and restarting (what the data plane does when masterPid is undefined) waits for it
  const started = sup.start();
  writeFileAtomic(configPath, config());
  await started;
  assert.ok(await serving());
  const count = sup.restarts;
  assert.ok(logs.some((l) => l.msg === 'haproxy serving again'));
  await sup.reload();
  assert.equal(sup.restarts, count, 'a reload is no restart');
});

test('a master that stops answering on its CLI is replaced', async (t) => {
  const { sup, serving } = await rig(t, { unresponsiveMs: 300 });
  await sup.start();
  const master = sup.masterPid!;
  t.after(() => killAll([master]));
  process.kill(master, 'SIGSTOP');
  await waitFor(() => sup.restarts === 1, 6000, 'the hung master to be replaced');
  assert.ok(!isRunning(master));
  await waitFor(serving, 2000, 'serving again');
  assert.ok(sup.masterPid !== undefined && sup.masterPid !== master);
});

test('HAProxy does not outlive a crash of the Node process supervising it', { skip: !hasSetpriv && 'setpriv is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-orphan-'));
  t.after(() => {
    killAll(pidsWithArgument(dir));
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await freePort();
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(dir, port, 1));
  const supervisorUrl = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'haproxy', 'supervisor.js')).href;
  writeFileSync(
    join(dir, 'run.mjs'),
    `import { Supervisor } from ${JSON.stringify(supervisorUrl)};
const sup = new Supervisor({ configPath: ${JSON.stringify(join(dir, 'haproxy.cfg'))}, masterSocket: ${JSON.stringify(join(dir, 'master.sock'))},
  runtimeSocket: ${JSON.stringify(join(dir, 'admin.sock'))}, log: () => {} });
await sup.start();
console.log(JSON.stringify({ master: sup.masterPid, worker: sup.workerPid }));
setInterval(() => {}, 1000);
`,
  );
  const node = spawn(process.execPath, [join(dir, 'run.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => killAll([node.pid]));
  let out = '';
  node.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('\n'), 10_000, 'the child to start HAProxy');
  const { master, worker } = JSON.parse(out) as { master: number; worker: number };
  assert.ok(isRunning(master) && isRunning(worker));
  assert.match(readFileSync(`/proc/${master}/cmdline`, 'utf8'), /haproxy/);
  process.kill(node.pid!, 'SIGKILL');
  await waitFor(() => !isRunning(master) && !isRunning(worker), 3000, 'HAProxy to exit after its supervisor died');
});
