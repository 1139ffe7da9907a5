/**
 * HAProxy 2.6 in master-worker mode, supervised.
 *
 * The configuration MUST declare in its `global` section the worker's admin socket, with the listening
 * sockets exposed so that a reload hands them over to the new worker instead of closing and reopening
 * them (no connection refused during a reload):
 *
 *     stats socket <runtimeSocket> mode 600 level admin expose-fd listeners
 *
 * We run `haproxy -W -S <masterSocket>,mode,600 -f <config>` in the foreground (no -D) as a child of
 * this process. What HAProxy 2.6.12 does, as found against the real binary (test/haproxy/supervisor.test.ts):
 * - `reload` on the master CLI: the master answers nothing and re-executes itself (same pid), reads the
 *   configuration again, forks a new worker that takes the listeners over the admin socket (the master
 *   adds `-x` itself), and soft-stops the old one, which finishes its connections (`# old workers` in
 *   `show proc`). A configuration that does not load leaves the old worker serving and counts in the
 *   master's `[failed: N]`.
 * - the current worker dies (even by SIGKILL): the master kills the other workers and exits with the
 *   worker's status (`exit-on-failure`). We restart on the master's exit; in case a master stays up with
 *   no current worker anyway, `show proc` is polled every 100 ms and that is treated the same way.
 * - the master dies (even by SIGKILL): its workers see the master pipe close and exit on their own; the
 *   new master binds the same addresses meanwhile (SO_REUSEPORT).
 * - SIGUSR1 to the master: soft stop of every worker; the master exits once they have all gone.
 *   SIGTERM: hard stop.
 *
 * HAProxy must not outlive this process. stop() (which the caller runs on SIGTERM/SIGINT) ends it. It
 * is spawned without `detached`, so it shares our process group: a terminal's Ctrl-C or a kill of the
 * group reaches it too. Against a crash of Node (even SIGKILL) it is started through util-linux's
 * `setpriv --pdeathsig SIGTERM` when that is on PATH: the kernel sends SIGTERM to the master when we
 * die, and the setting survives the master's re-executions. Without setpriv a warning is logged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CliSocketError, cliExchange } from './cli-socket.js';
import { parseShowProc, type ShowProc } from './master-cli.js';

export { checkConfig, type ConfigCheck } from './check.js';

export type SupervisorLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface SupervisorOptions {
  /** The HAProxy binary, default `haproxy` (found on PATH). */
  binary?: string;
  configPath: string;
  /** The master CLI socket, created by us with `-S`. */
  masterSocket: string;
  /** The worker's admin socket the configuration declares (see the top of this file). */
  runtimeSocket: string;
  log: SupervisorLog;
  /** How long start() and a restart wait for the worker to answer (tens of thousands of servers take seconds). Default 30 s. */
  startTimeoutMs?: number;
  /** How long reload() waits for the new worker to answer. Default 30 s. */
  reloadTimeoutMs?: number;
  /** stop(): time given to the soft stop (SIGUSR1) before SIGTERM. Default 10 s. */
  stopGraceMs?: number;
  /** Interval of the `show proc` health poll on the master socket. Default 100 ms. */
  healthIntervalMs?: number;
  /** A master silent on its CLI this long while alive is restarted. Default 5 s. */
  unresponsiveMs?: number;
  /**
   * Restarts after a death are immediate; once HAProxy keeps dying within `stableAfterMs` of serving,
   * each further restart waits `initialMs`, doubling up to `maxMs`. Defaults 100 ms, 10 s, 1 s.
   */
  backoff?: { initialMs?: number; maxMs?: number; stableAfterMs?: number };
  /** Start HAProxy through `setpriv --pdeathsig SIGTERM` when available. Default true. */
  killOnParentDeath?: boolean;
}

interface Master {
  proc: ChildProcess;
  pid: number;
  spawnedAt: number;
  /** When its first worker answered, 0 before. */
  readyAt: number;
  exited: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  exit: Promise<void>;
}

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs and watches HAProxy in master-worker mode. Events:
 * - `'restart'` (reason: string): HAProxy died and a new master was just spawned, with the configuration
 *   file as it is now (whatever went through the Runtime API since is gone). Once per attempt: with a
 *   configuration that no longer loads, every attempt of the backoff counts. The log says
 *   `haproxy serving again` when it does.
 * - `'exit'` (code: number | null, signal: string | null): stop() ended HAProxy for good.
 */
export class Supervisor extends EventEmitter {
  private readonly o: Required<Omit<SupervisorOptions, 'backoff'>> & { backoff: Required<NonNullable<SupervisorOptions['backoff']>> };
  private phase: Phase = 'idle';
  private master: Master | undefined;
  private worker: number | undefined;
  private reloadCount = 0;
  private restartCount = 0;
  private quickDeaths = 0;
  private reloadRunning: Promise<void> | undefined;
  private reloadNext: Promise<void> | undefined;
  private reloadSeq = 0;
  private restartRunning: Promise<void> | undefined;
  /** Every master spawned and not yet exited: stop() ends them all, whatever this.master points at. */
  private readonly live = new Set<Master>();
  private stopRunning: Promise<void> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastHealthy = 0;
  private cancelPause: (() => void) | undefined;
  private lines: Array<{ seq: number; text: string }> = [];
  private lineSeq = 0;
  private lastWorkerExit: string | undefined;
  private wrapper: string[] | undefined | null = null;

  constructor(opts: SupervisorOptions) {
    super();
    this.o = {
      binary: opts.binary ?? 'haproxy',
      configPath: opts.configPath,
      masterSocket: opts.masterSocket,
      runtimeSocket: opts.runtimeSocket,
      log: opts.log,
      startTimeoutMs: opts.startTimeoutMs ?? 30_000,
      reloadTimeoutMs: opts.reloadTimeoutMs ?? 30_000,
      stopGraceMs: opts.stopGraceMs ?? 10_000,
      healthIntervalMs: opts.healthIntervalMs ?? 100,
      unresponsiveMs: opts.unresponsiveMs ?? 5_000,
      killOnParentDeath: opts.killOnParentDeath ?? true,
      backoff: {
        initialMs: opts.backoff?.initialMs ?? 100,
        maxMs: opts.backoff?.maxMs ?? 10_000,
        stableAfterMs: opts.backoff?.stableAfterMs ?? 1_000,
      },
    };
  }

  /** Successful reloads since construction. */
  get reloads(): number {
    return this.reloadCount;
  }

  /** Restarts after HAProxy died: new masters spawned by the supervisor (attempts, like a pod's restartCount). */
  get restarts(): number {
    return this.restartCount;
  }

  /** The worker serving now (answering on the runtime socket), undefined while none is. */
  get workerPid(): number | undefined {
    return this.worker;
  }

  get masterPid(): number | undefined {
    return this.master && !this.master.exited ? this.master.pid : undefined;
  }

  /**
   * Starts HAProxy; resolves once its worker answers `show info` on the runtime socket. Rejects with
   * HAProxy's alerts when it exits first (a configuration that does not load, a port in use).
   */
  async start(): Promise<void> {
    // HAProxy died and is being restarted (masterPid is undefined meanwhile): that start reads the
    // configuration file as it is now, so wait for it, as reload() does
    if (this.phase === 'running' && this.restartRunning) return this.reload();
    // stop() is for good: a start still on its way after it (an apply that was in flight) must not
    // leave a master behind that nobody stops
    if (this.phase !== 'idle') throw new Error(`Supervisor.start: HAProxy is already ${this.phase}`);
    this.phase = 'starting';
    this.quickDeaths = 0;
    try {
      await this.launch();
    } catch (err) {
      if (this.phase === 'starting') this.phase = 'idle';
      throw err;
    }
    if (this.phase !== 'starting') throw new Error('Supervisor.start: stopped while HAProxy was starting');
    this.phase = 'running';
    this.schedulePoll();
  }

  /**
   * Seamless reload through the master CLI: resolves once a new worker, with the configuration file as it
   * is now, answers on the runtime socket; rejects with HAProxy's alerts when the new configuration does
   * not load (the previous worker keeps serving). A reload asked for while one runs is done once more
   * after it, however many were asked for meanwhile.
   */
  reload(): Promise<void> {
    if (!this.reloadRunning) {
      const run: Promise<void> = this.runReload().finally(() => {
        if (this.reloadRunning === run) this.reloadRunning = undefined;
      });
      this.reloadRunning = run;
      return run;
    }
    if (!this.reloadNext) {
      const next = this.reloadRunning
        .catch(() => undefined)
        .then(() => {
          this.reloadNext = undefined;
          return this.reload();
        });
      this.reloadNext = next;
    }
    return this.reloadNext;
  }

  /**
   * Clean stop: SIGUSR1 (the workers stop listening and finish their requests), SIGTERM after
   * stopGraceMs, SIGKILL if even that does not end it. Resolves once the master has exited.
   */
  stop(): Promise<void> {
    this.stopRunning ??= this.runStop();
    return this.stopRunning;
  }

  // ---------------------------------------------------------------------------------------------

  private async runStop(): Promise<void> {
    this.phase = 'stopping';
    this.stopPoll();
    this.cancelPause?.();
    let last: Master | undefined;
    if (this.reloadRunning) {
      // a reload in flight gives up at once; the master may still be re-executing itself, and a signal
      // landing before it has set its handlers again would kill it outright: wait until it answers
      await this.reloadRunning.catch(() => undefined);
      const m = this.master;
      const deadline = Date.now() + 5_000;
      while (m && !m.exited && Date.now() < deadline && !(await this.showProc(m).then(() => true, () => false))) await tick(10);
    }
    for (;;) {
      const m = this.master;
      if (m && !m.exited) {
        last = m;
        this.o.log('info', 'stopping haproxy: soft stop, connections may finish', { masterPid: m.pid, graceMs: this.o.stopGraceMs });
        this.signal(m, 'SIGUSR1');
        if (!(await this.waitExit(m, this.o.stopGraceMs))) {
          this.o.log('warn', `haproxy still running ${this.o.stopGraceMs} ms after the soft stop: SIGTERM`, { masterPid: m.pid });
          await this.killMaster(m);
        }
      }
      // a start or restart in flight notices 'stopping' and ends its own master; wait for it
      await this.restartRunning?.catch(() => undefined);
      if (!this.master || this.master.exited) break;
    }
    for (const m of [...this.live]) {
      this.o.log('warn', 'a haproxy master this supervisor no longer followed was still running: SIGTERM', { masterPid: m.pid });
      await this.killMaster(m);
    }
    this.worker = undefined;
    this.phase = 'stopped';
    this.o.log('info', 'haproxy stopped', last ? { code: last.code, signal: last.signal } : {});
    this.emit('exit', last?.code ?? null, last?.signal ?? null);
  }

  /** Spawns a master and waits until its worker answers; ends the master again on failure. */
  private async launch(spawned?: () => void): Promise<Master> {
    const mark = this.lineSeq;
    const m = this.spawnMaster();
    spawned?.();
    try {
      this.worker = await this.waitReady(m, mark);
      m.readyAt = Date.now();
      this.o.log('info', 'haproxy serving', { masterPid: m.pid, workerPid: this.worker });
      return m;
    } catch (err) {
      await this.killMaster(m);
      throw err;
    }
  }

  private spawnMaster(): Master {
    const args = ['-W', '-S', `${this.o.masterSocket},mode,600`, '-f', this.o.configPath];
    const wrapper = this.parentDeathWrapper();
    const [cmd, ...argv] = wrapper ? [...wrapper, this.o.binary, ...args] : [this.o.binary, ...args];
    const proc = spawn(cmd as string, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let resolveExit!: () => void;
    const m: Master = {
      proc,
      pid: proc.pid ?? -1,
      spawnedAt: Date.now(),
      readyAt: 0,
      exited: false,
      code: null,
      signal: null,
      exit: new Promise<void>((r) => (resolveExit = r)),
    };
    const exited = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (m.exited) return;
      m.exited = true;
      this.live.delete(m);
      m.code = code;
      m.signal = signal;
      resolveExit();
      this.onMasterExit(m);
    };
    proc.on('exit', exited);
    proc.on('error', (err) => {
      this.remember(`${cmd}: ${err.message}`);
      this.o.log('error', `cannot run ${cmd}: ${err.message}`);
      if (proc.pid === undefined) exited(null, null);
    });
    for (const [stream, name] of [[proc.stdout, 'stdout'], [proc.stderr, 'stderr']] as const) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.onLine(line, name));
    }
    this.master = m;
    this.live.add(m);
    this.o.log('info', 'haproxy started', { masterPid: m.pid, command: [cmd, ...argv].join(' ') });
    return m;
  }

  /** `setpriv --pdeathsig SIGTERM --` if wanted and on PATH; warns once when it is not. */
  private parentDeathWrapper(): string[] | undefined {
    if (this.wrapper !== null) return this.wrapper;
    this.wrapper = undefined;
    if (!this.o.killOnParentDeath) return undefined;
    for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(':')) {
      if (!dir) continue;
      try {
        accessSync(join(dir, 'setpriv'), constants.X_OK);
        this.wrapper = [join(dir, 'setpriv'), '--pdeathsig', 'SIGTERM', '--'];
        return this.wrapper;
      } catch {
        // not here
      }
    }
    this.o.log('warn', 'setpriv (util-linux) not found: HAProxy would keep running if this process crashed');
    return undefined;
  }

  private onLine(line: string, stream: 'stdout' | 'stderr'): void {
    if (line.trim() === '') return;
    this.remember(line);
    const w = /Current worker \((\d+)\) exited with code (\d+)(?: \(([^)]*)\))?/.exec(line);
    if (w) this.lastWorkerExit = `worker ${w[1]} exited with code ${w[2]}${w[3] ? ` (${w[3]})` : ''}`;
    const level = line.startsWith('[ALERT]') ? 'error' : line.startsWith('[WARNING]') ? 'warn' : 'info';
    this.o.log(level, line, { source: 'haproxy', stream });
  }

  private remember(text: string): void {
    this.lines.push({ seq: ++this.lineSeq, text });
    if (this.lines.length > 200) this.lines.splice(0, this.lines.length - 200);
  }

  /** HAProxy's alerts since `mark`, or its last lines when there are none. */
  private linesSince(mark: number): string {
    const lines = this.lines.filter((l) => l.seq > mark).map((l) => l.text);
    const alerts = lines.filter((l) => l.startsWith('[ALERT]'));
    return (alerts.length > 0 ? alerts : lines.slice(-10)).join('\n') || '(HAProxy said nothing)';
  }

  private onMasterExit(m: Master): void {
    const how = describeExit(m);
    if (this.master !== m) return;
    this.worker = undefined;
    if (this.phase === 'stopping') return;
    const reason = this.lastWorkerExit ? `${this.lastWorkerExit}, then the master ${how}` : `master ${m.pid} ${how}`;
    this.lastWorkerExit = undefined;
    if (m.readyAt === 0) return; // launch() is waiting for it and reports the failure
    this.o.log('error', 'haproxy died', { reason, masterPid: m.pid });
    if (this.phase === 'running' && !this.restartRunning) void this.restart(reason);
  }

  private async waitReady(m: Master, mark: number): Promise<number> {
    const deadline = Date.now() + this.o.startTimeoutMs;
    let worker: number | undefined;
    for (;;) {
      if (m.exited) throw new Error(`haproxy ${describeExit(m)} before serving:\n${this.linesSince(mark)}`);
      if (this.phase === 'stopping') throw new Error('haproxy start cancelled: the supervisor is stopping');
      if (Date.now() > deadline) {
        throw new Error(
          `haproxy did not answer on ${worker === undefined ? this.o.masterSocket : this.o.runtimeSocket} within ` +
            `${this.o.startTimeoutMs} ms (does the configuration declare "stats socket ${this.o.runtimeSocket} … level admin"?):\n` +
            this.linesSince(mark),
        );
      }
      if (worker === undefined) {
        const proc = await this.showProc(m).catch(() => undefined);
        worker = proc?.workers[0]?.pid;
      }
      if (worker !== undefined && (await this.runtimePid().catch(() => undefined)) === worker) return worker;
      await tick(10);
    }
  }

  /** `show proc` of `m`'s master CLI; rejects when it is another master that answers. */
  private async showProc(m: Master, timeoutMs = 1_000): Promise<ShowProc> {
    const proc = parseShowProc(await cliExchange(this.o.masterSocket, 'show proc\n', timeoutMs));
    if (proc.master.pid !== m.pid) throw new Error(`${this.o.masterSocket} is answered by master ${proc.master.pid}, not ${m.pid}`);
    return proc;
  }

  private async runtimePid(): Promise<number | undefined> {
    const answer = await cliExchange(this.o.runtimeSocket, 'show info\n', 1_000);
    const pid = /^Pid: (\d+)$/m.exec(answer)?.[1];
    return pid === undefined ? undefined : Number(pid);
  }

  private async runReload(): Promise<void> {
    if (this.phase === 'starting') throw new Error('Supervisor.reload: HAProxy is still starting');
    if (this.phase !== 'running') throw new Error(`Supervisor.reload: HAProxy is not running (${this.phase})`);
    const deadline = Date.now() + this.o.reloadTimeoutMs;
    if (this.restartRunning) {
      // the restart reads the configuration file as it is now: that is the reload
      await this.untilDeadline(this.restartRunning, deadline, 'haproxy is restarting');
      if (this.worker === undefined) throw new Error('Supervisor.reload: HAProxy is down');
      return;
    }
    const m = this.master;
    if (!m || m.exited) throw new Error('Supervisor.reload: HAProxy is down');
    this.reloadSeq++;
    const before = await this.showProc(m);
    const oldWorker = this.worker;
    const mark = this.lineSeq;
    this.o.log('info', 'reloading haproxy', { masterPid: m.pid, workerPid: oldWorker });
    try {
      await cliExchange(this.o.masterSocket, 'reload\n', 5_000);
    } catch (err) {
      // the master may drop the connection as it re-executes; only a failed connect means no reload
      if (err instanceof CliSocketError && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT')) throw err;
    }
    let next: number | undefined;
    for (;;) {
      if (this.phase !== 'running') throw new Error('Supervisor.reload: stopped during the reload');
      if (m.exited || this.master !== m) {
        await this.untilDeadline(this.restartRunning ?? Promise.resolve(), deadline, 'haproxy died during the reload and is restarting');
        if (this.worker === undefined) throw new Error('Supervisor.reload: HAProxy died during the reload');
        return;
      }
      if (Date.now() > deadline) throw new Error(`Supervisor.reload: no new worker within ${this.o.reloadTimeoutMs} ms:\n${this.linesSince(mark)}`);
      if (next === undefined) {
        const proc = await this.showProc(m).catch(() => undefined);
        if (proc && proc.master.reloads > before.master.reloads) {
          if (proc.master.failed > before.master.failed) {
            throw new Error(`HAProxy did not load the new configuration and keeps serving the previous one:\n${this.linesSince(mark)}`);
          }
          next = proc.workers[0]?.pid;
          if (next === undefined || next === oldWorker) {
            throw new Error(`Supervisor.reload: the master reloaded but shows no new worker:\n${this.linesSince(mark)}`);
          }
        }
      }
      if (next !== undefined && (await this.runtimePid().catch(() => undefined)) === next) break;
      await tick(10);
    }
    this.worker = next;
    this.reloadCount++;
    this.o.log('info', 'haproxy reloaded', { masterPid: m.pid, workerPid: next, previousWorkerPid: oldWorker, reloads: this.reloadCount });
  }

  private restart(reason: string): Promise<void> {
    this.restartRunning ??= this.runRestart(reason).finally(() => {
      this.restartRunning = undefined;
    });
    return this.restartRunning;
  }

  private async runRestart(reason: string): Promise<void> {
    this.stopPoll();
    const died = this.master;
    const upFor = died && died.readyAt > 0 ? Date.now() - died.readyAt : 0;
    this.quickDeaths = upFor >= this.o.backoff.stableAfterMs ? 0 : this.quickDeaths + 1;
    let why = reason;
    for (;;) {
      if (this.phase !== 'running') return;
      if (this.master && !this.master.exited) await this.killMaster(this.master);
      const delayMs = this.quickDeaths <= 1 ? 0 : Math.min(this.o.backoff.initialMs * 2 ** (this.quickDeaths - 2), this.o.backoff.maxMs);
      this.o.log('warn', 'restarting haproxy', { reason: why, restart: this.restartCount + 1, delayMs });
      if (delayMs > 0 && !(await this.pause(delayMs))) return;
      if (this.phase !== 'running') return;
      let m: Master;
      try {
        // counted as soon as the new master exists, so no one sees HAProxy serve again uncounted
        const attempt = why;
        m = await this.launch(() => {
          this.restartCount++;
          this.emit('restart', attempt);
        });
      } catch (err) {
        if (this.phase !== 'running') return;
        why = `the restart failed: ${errorText(err)}`;
        this.quickDeaths++;
        this.o.log('error', 'haproxy restart failed', { error: errorText(err), quickDeaths: this.quickDeaths });
        continue;
      }
      if (m.exited) {
        this.quickDeaths++;
        why = `master ${m.pid} ${describeExit(m)} right after it started serving`;
        continue;
      }
      this.o.log('warn', 'haproxy serving again', { reason, restarts: this.restartCount, masterPid: m.pid, workerPid: this.worker });
      this.schedulePoll();
      return;
    }
  }

  /** SIGTERM, then SIGKILL if the master is still there after 2 s; resolves once it has exited. */
  private async killMaster(m: Master): Promise<void> {
    if (m.exited) return;
    this.signal(m, 'SIGTERM');
    if (await this.waitExit(m, 2_000)) return;
    this.o.log('warn', 'haproxy master did not exit on SIGTERM: SIGKILL', { masterPid: m.pid });
    this.signal(m, 'SIGKILL');
    if (!(await this.waitExit(m, 5_000))) this.o.log('error', 'haproxy master survived SIGKILL', { masterPid: m.pid });
  }

  private signal(m: Master, sig: NodeJS.Signals): void {
    if (m.exited || m.pid < 0) return;
    try {
      m.proc.kill(sig);
    } catch {
      // gone meanwhile
    }
  }

  private async waitExit(m: Master, timeoutMs: number): Promise<boolean> {
    if (m.exited) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const done = await Promise.race([m.exit.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  }

  /** Waits `ms` unless stop() comes first (then false). */
  private pause(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.cancelPause = undefined;
        resolve(true);
      }, ms);
      this.cancelPause = () => {
        clearTimeout(timer);
        this.cancelPause = undefined;
        resolve(false);
      };
    });
  }

  private async untilDeadline(p: Promise<unknown>, deadline: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Supervisor.reload: ${what}, still not serving at the deadline`)), Math.max(0, deadline - Date.now()));
    });
    try {
      await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // health poll: finds a master that stays up without its worker, or stops answering

  private schedulePoll(): void {
    this.stopPoll();
    this.lastHealthy = Date.now();
    const run = async (): Promise<void> => {
      this.pollTimer = undefined;
      if (this.phase !== 'running' || this.restartRunning) return;
      await this.checkHealth();
      if (this.phase !== 'running' || this.restartRunning || this.pollTimer) return;
      this.pollTimer = setTimeout(() => void run(), this.o.healthIntervalMs);
      this.pollTimer.unref();
    };
    this.pollTimer = setTimeout(() => void run(), this.o.healthIntervalMs);
    this.pollTimer.unref();
  }

  private stopPoll(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async checkHealth(): Promise<void> {
    const m = this.master;
    if (!m || m.exited || this.reloadRunning) return;
    const seq = this.reloadSeq;
    const quiet = (): boolean => this.phase === 'running' && !this.restartRunning && !this.reloadRunning && this.reloadSeq === seq && this.master === m && !m.exited;
    let proc: ShowProc;
    try {
      proc = await this.showProc(m);
    } catch (err) {
      if (quiet() && Date.now() - this.lastHealthy > this.o.unresponsiveMs) {
        void this.restart(`master ${m.pid} has not answered on ${this.o.masterSocket} for ${this.o.unresponsiveMs} ms (${errorText(err)})`);
      }
      return;
    }
    this.lastHealthy = Date.now();
    const w = this.worker;
    if (quiet() && w !== undefined && !proc.workers.some((x) => x.pid === w)) {
      void this.restart(`worker ${w} is gone while master ${m.pid} kept running`);
    }
  }
}

function describeExit(m: Master): string {
  if (m.signal) return `was killed by ${m.signal}`;
  if (m.code === null) return 'could not be started';
  return `exited with code ${m.code}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
