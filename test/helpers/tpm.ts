import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type NetConnectOpts } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { isRunning, killAll } from './processes.js';
import { waitFor } from './wait.js';

const execFileAsync = promisify(execFile);

/** Where OpenSSL looks for provider modules (`openssl version -m`); Debian's tpm2-openssl puts tpm2.so there. */
export function providerModuleDir(): string {
  try {
    const m = /MODULESDIR: "([^"]+)"/.exec(execFileSync('openssl', ['version', '-m'], { encoding: 'utf8' }));
    if (m?.[1]) return m[1];
  } catch {
    // no openssl: tpmToolsMissing names it
  }
  return '/usr/lib/x86_64-linux-gnu/ossl-modules';
}

/**
 * What is missing for the TPM tests: the commands (swtpm, tpm2-abrmd, dbus-daemon, dbus-send,
 * openssl, haproxy), the tpm2 provider module and the tabrmd TCTI library. Empty when
 * all is there; scripts/setup.sh installs the Debian packages that provide each of them. (Whether
 * the module *loads* can only be seen with a TPM to talk to: its init opens the TCTI.)
 */
export function tpmToolsMissing(): string[] {
  const missing: string[] = [];
  for (const command of ['swtpm', 'tpm2-abrmd', 'dbus-daemon', 'dbus-send', 'openssl', 'haproxy']) {
    try {
      execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'pipe' });
    } catch {
      missing.push(command);
    }
  }
  const module = join(providerModuleDir(), 'tpm2.so');
  if (!existsSync(module)) missing.push(`${module} (Debian package tpm2-openssl)`);
  const tabrmd = join(dirname(providerModuleDir()), 'libtss2-tcti-tabrmd.so.0');
  if (!existsSync(tabrmd)) missing.push(`${tabrmd} (Debian package libtss2-tcti-tabrmd0)`);
  return missing;
}

/** Whether everything the TPM tests need is installed (see tpmToolsMissing for what is not). */
export function tpmToolsAvailable(): boolean {
  return tpmToolsMissing().length === 0;
}

export interface SoftwareTpm {
  /**
   * The TCTI every TPM client uses: the access broker (tpm2-abrmd) on this TPM's private D-Bus.
   * The broker is required for TLS: the TPM has three transient object slots and OpenSSL's handshake
   * needs more (key + transcript hash sequences + their copies); the broker swaps them in and out.
   */
  tcti: string;
  /** The raw swtpm socket TCTI, for the tests that show what fails without the broker. */
  swtpmTcti: string;
  /** What a TPM client process (openssl, HAProxy, tpm2-tools) needs in its environment. */
  env: Record<string, string>;
  /** Stops swtpm alone: the broker stays, but nothing can reach the TPM any more. */
  stopSwtpm(): Promise<void>;
  /** Stops all three processes (broker, D-Bus, swtpm); resolves once they are gone. */
  stop(): Promise<void>;
}

interface Started {
  child: ChildProcess;
  exited: () => boolean;
  output: () => string;
}

function startProcess(command: string, args: string[], env?: Record<string, string>): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
  let out = '';
  let exited = false;
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  child.on('exit', () => (exited = true));
  child.on('error', (err) => {
    out += String(err);
    exited = true;
  });
  return { child, exited: () => exited, output: () => out };
}

async function stopProcess(p: Started, what: string): Promise<void> {
  const pid = p.child.pid ?? -1;
  if (!p.exited()) p.child.kill('SIGTERM');
  await waitFor(() => p.exited() || !isRunning(pid), 5000, `${what} ${pid} to exit`).catch(() => killAll([pid]));
}

/**
 * A free loopback port P whose neighbour P + 1 is free as well (bounded retries). Taken above the
 * kernel's ephemeral range (32768-60999 by default): inside it, the even neighbour of a port bind(0)
 * returns is often held by an outgoing connection.
 */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 61000 + 2 * Math.floor(Math.random() * 2000);
    if ((await canListen(port)) && (await canListen(port + 1))) return port;
  }
  const port = await freePort(); // a busy machine: take any pair still free
  if (await canListen(port + 1)) return port;
  throw new Error('no two adjacent free ports on 127.0.0.1 for swtpm after 51 attempts');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.on('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function connects(opts: NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(opts, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * A software TPM 2.0 for one test: `swtpm` on two free loopback ports (command and control) with its
 * state in `dir/tpmstate`, a private D-Bus session daemon on `dir/bus`, and `tpm2-abrmd` (the access
 * broker and resource manager) on that bus under a name of its own, talking to swtpm. Resolves once
 * the broker owns its bus name; every wait has a deadline.
 */
export async function startSoftwareTpm(dir: string): Promise<SoftwareTpm> {
  const state = join(dir, 'tpmstate');
  execFileSync('mkdir', ['-p', state]);
  const port = await freePortPair();
  const ctrlPort = port + 1; // the swtpm TCTI always takes the control channel at port + 1
  const started: Array<[Started, string]> = [];
  const stopAll = async (): Promise<void> => {
    for (const [p, what] of [...started].reverse()) await stopProcess(p, what);
  };
  try {
    const swtpm = startProcess('swtpm', [
      'socket', '--tpm2', '--tpmstate', `dir=${state}`,
      '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`, '--ctrl', `type=tcp,port=${ctrlPort},bindaddr=127.0.0.1`,
      '--flags', 'not-need-init,startup-clear',
    ]);
    started.push([swtpm, 'swtpm']);
    await waitFor(async () => {
      if (swtpm.exited()) throw new Error(`swtpm exited before listening:\n${swtpm.output()}`);
      return connects({ host: '127.0.0.1', port });
    }, 10_000, `swtpm on 127.0.0.1:${port}`);

    const busPath = join(dir, 'bus');
    const busAddress = `unix:path=${busPath}`;
    const dbus = startProcess('dbus-daemon', ['--session', '--nofork', '--nopidfile', `--address=${busAddress}`]);
    started.push([dbus, 'dbus-daemon']);
    await waitFor(async () => {
      if (dbus.exited()) throw new Error(`dbus-daemon exited before listening:\n${dbus.output()}`);
      return existsSync(busPath) && connects({ path: busPath });
    }, 10_000, `dbus-daemon on ${busPath}`);

    const busName = `com.intel.tss2.Tabrmd.gh${process.pid}x${port}`;
    const swtpmTcti = `swtpm:host=127.0.0.1,port=${port}`;
    const abrmd = startProcess(
      'tpm2-abrmd',
      ['--session', '--allow-root', '--flush-all', `--dbus-name=${busName}`, `--tcti=${swtpmTcti}`, '--logger=stdout'],
      { DBUS_SESSION_BUS_ADDRESS: busAddress },
    );
    started.push([abrmd, 'tpm2-abrmd']);
    await waitFor(async () => {
      if (abrmd.exited()) throw new Error(`tpm2-abrmd exited before owning ${busName}:\n${abrmd.output()}`);
      const { stdout } = await execFileAsync('dbus-send', [
        `--bus=${busAddress}`, '--dest=org.freedesktop.DBus', '--type=method_call', '--print-reply',
        '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${busName}`,
      ]).catch(() => ({ stdout: '' }));
      return /boolean true/.test(stdout);
    }, 10_000, `tpm2-abrmd to own ${busName}`);

    const tcti = `tabrmd:bus_name=${busName},bus_type=session`;
    return {
      tcti,
      swtpmTcti,
      env: { TPM2OPENSSL_TCTI: tcti, TPM2TOOLS_TCTI: tcti, DBUS_SESSION_BUS_ADDRESS: busAddress },
      stopSwtpm: () => stopProcess(swtpm, 'swtpm'),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export interface TpmKeyAndCert {
  /** The self-signed certificate (PEM). */
  certPath: string;
  /** The TPM-wrapped key (`-----BEGIN TSS2 PRIVATE KEY-----`): usable only through the TPM that made it. */
  keyPath: string;
  /** Certificate then TSS2 key, as HAProxy's `crt` loads it. */
  pemPath: string;
  /** The key's public half as the TPM reports it (SPKI PEM). */
  publicKeyPem: string;
}

/**
 * A key generated inside `tpm` through the tpm2 provider (`openssl genpkey -provider tpm2`), and a
 * self-signed certificate for `cn` (also in the SAN) signed by that key inside the TPM. RSA is the
 * default because OpenSSL 3.0 refuses TPM EC keys for TLS 1.2 (docs/tpm-provider.md).
 */
export async function makeTpmKeyAndCert(
  tpm: SoftwareTpm,
  dir: string,
  opts: { cn: string; keyType?: 'rsa' | 'ec'; name?: string },
): Promise<TpmKeyAndCert> {
  const name = opts.name ?? `${opts.keyType ?? 'rsa'}-${opts.cn}`;
  const keyPath = join(dir, `${name}.key.pem`);
  const certPath = join(dir, `${name}.crt.pem`);
  const pemPath = join(dir, `${name}.pem`);
  const env = { ...process.env, ...tpm.env };
  const run = (args: string[]): Promise<{ stdout: string }> =>
    execFileAsync('openssl', args, { env, timeout: 60_000 }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
    });
  const keyArgs = opts.keyType === 'ec' ? ['-algorithm', 'EC', '-pkeyopt', 'group:P-256'] : ['-algorithm', 'RSA', '-pkeyopt', 'bits:2048'];
  await run(['genpkey', '-provider', 'tpm2', '-provider', 'default', ...keyArgs, '-out', keyPath]);
  await run([
    'req', '-provider', 'tpm2', '-provider', 'default', '-propquery', '?provider=tpm2',
    '-new', '-x509', '-key', keyPath, '-days', '30', '-subj', `/CN=${opts.cn}`,
    '-addext', `subjectAltName=DNS:${opts.cn}`, '-out', certPath,
  ]);
  const { stdout: publicKeyPem } = await run(['pkey', '-provider', 'tpm2', '-provider', 'default', '-in', keyPath, '-pubout']);
  writeFileSync(pemPath, readFileSync(certPath, 'utf8') + readFileSync(keyPath, 'utf8'));
  return { certPath, keyPath, pemPath, publicKeyPem };
}

export interface TpmHaproxy {
  /** The worker's pid (changes on reload). */
  workerPid: () => Promise<number>;
  /** Everything HAProxy printed so far. */
  output: () => string;
  /** `reload` on the master CLI; resolves once a new worker answers on the admin socket. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * HAProxy as the gateway runs it: master-worker (`-W -db -S dir/master.sock`), with `env` added to
 * its environment (the TCTI variables the tpm2 provider reads when HAProxy loads it). `config` is
 * written to `dir/haproxy.cfg` and must declare `stats socket <dir>/admin.sock … level admin`.
 * Resolves once the worker answers there.
 */
export async function startMasterWorkerHaproxy(dir: string, config: string, env: Record<string, string>): Promise<TpmHaproxy> {
  const configPath = join(dir, 'haproxy.cfg');
  const adminSocket = join(dir, 'admin.sock');
  const masterSocket = join(dir, 'master.sock');
  writeFileSync(configPath, config);
  const p = startProcess('haproxy', ['-W', '-db', '-S', masterSocket, '-f', configPath], env);
  const stop = (): Promise<void> => stopProcess(p, 'haproxy master');
  const workerPid = async (): Promise<number> => {
    const m = /^Pid: (\d+)$/m.exec(await cli(adminSocket, 'show info'));
    return m ? Number(m[1]) : -1;
  };
  try {
    await waitFor(async () => {
      if (p.exited()) throw new Error(`haproxy exited before serving:\n${p.output()}`);
      return (await workerPid()) > 0;
    }, 30_000, `haproxy worker on ${adminSocket}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const reload = async (): Promise<void> => {
    const before = await workerPid();
    await cli(masterSocket, 'reload');
    await waitFor(async () => {
      if (p.exited()) throw new Error(`haproxy master exited on reload:\n${p.output()}`);
      const now = await workerPid();
      return now > 0 && now !== before;
    }, 30_000, `a new haproxy worker after reload (old ${before})`);
  };
  return { workerPid, output: p.output, reload, stop };
}

/** One command on an HAProxy CLI socket; the whole answer, or '' when the socket does not answer. */
function cli(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const s = connect(socketPath, () => s.end(`${command}\n`));
    s.setTimeout(5000, () => s.destroy());
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => resolve(''));
    s.on('close', () => resolve(text));
  });
}
