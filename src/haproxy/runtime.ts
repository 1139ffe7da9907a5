import { isIP } from 'node:net';
import { CliSocketError, cliArg, cliExchange } from './cli-socket.js';

/**
 * Client of HAProxy 2.6's Runtime API on the worker's admin socket
 * (`stats socket <path> mode 600 level admin expose-fd listeners`).
 *
 * One command per connection. What 2.6 answers, found against a real 2.6.12 (see
 * test/haproxy/runtime.test.ts); every answer ends with an empty line, which `command()` strips:
 * - success of most changes is an empty answer; `prepare map` says `New version created: N`;
 *   `set server … addr` says `IP changed from …` or `no need to change the addr…`;
 *   `new ssl cert` says `New empty certificate store '…'!` (or `… already exists!`);
 *   `set ssl cert` says `Transaction created|updated for certificate …!`; `commit ssl cert` and
 *   `add ssl crt-list` end with `Success!`; `del ssl crt-list` says `Entry '…' deleted in crtlist '…'!`;
 *   `del ssl cert` says `Certificate '…' deleted!`.
 * - errors are free text (`No such backend.`, `Unknown map identifier…`, `Can't …`, `Unknown command…`),
 *   never flagged as such: each helper below accepts only the answer it expects.
 * - a request the CLI cannot hold in its buffer (tune.bufsize, 16 kB by default: command and payload
 *   together) is dropped with no answer at all; `command()` rejects on an empty answer.
 * - a command line is split into commands on `;` and into words on blanks, with `\` escaping (see
 *   cliArg); a payload (`cmd <<\n` lines `\n\n`) is taken literally up to its first empty line, and
 *   whatever follows an empty line is run as further commands. So payload lines are never empty, and map
 *   keys go in payloads only: there `;'"\$&()*+,=:@!~` need no escaping at all.
 *
 * Changes made here live in the running worker only: a reload or restart reads the files again, so the
 * caller writes the files first (src/haproxy/dataplane.ts does).
 */
export class RuntimeApi {
  private readonly timeoutMs: number;
  private readonly chunkBytes: number;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    readonly socketPath: string,
    opts: { timeoutMs?: number; /** payload bytes per `add map` request (default 12000) */ payloadChunkBytes?: number } = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.chunkBytes = opts.payloadChunkBytes ?? 12_000;
  }

  /** One command, its whole answer (without the empty line that ends every answer). */
  async command(cmd: string): Promise<string> {
    checkCommandLine(cmd);
    return this.exchange(cmd, `${cmd}\n`);
  }

  /**
   * A command with a payload: `cmd <<`, the payload's lines, an empty line. The payload must not hold an
   * empty line (HAProxy would end the payload there and run the rest as commands); one trailing line
   * break is allowed.
   */
  async commandWithPayload(cmd: string, payload: string): Promise<string> {
    checkCommandLine(cmd);
    const body = payload.endsWith('\n') ? payload.slice(0, -1) : payload;
    if (body === '') throw new Error(`payload of "${cmd}" is empty`);
    const lines = body.split('\n');
    const bad = lines.findIndex((l) => l.trim() === '' || l.includes('\r') || l.includes('\0'));
    if (bad >= 0) {
      throw new Error(`payload of "${cmd}": line ${bad + 1} is blank or holds CR/NUL, which would end the payload early`);
    }
    return this.exchange(cmd, `${cmd} <<\n${body}\n\n`);
  }

  /** `show info` as fields: { Name: 'HAProxy', Version: '2.6.12…', Pid: '123', … }. */
  async showInfo(): Promise<Record<string, string>> {
    const cmd = 'show info';
    const answer = await this.command(cmd);
    const info: Record<string, string> = {};
    for (const line of answer.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) info[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    if (!/^\d+$/.test(info['Pid'] ?? '')) throw new RuntimeApiError(cmd, answer, 'no Pid in the answer');
    return info;
  }

  /**
   * Replaces the whole content of a map atomically: `prepare map` (a new, empty version), `add map @ver`
   * with the entries as payloads of at most payloadChunkBytes each, `commit map @ver`. Traffic sees the
   * old map until the commit and the new one after it. On failure the version is cleared and the map
   * keeps its content. Calls for the same map run one after the other.
   *
   * A key is a run of bytes without blanks or control characters (HAProxy splits a payload line at the
   * first blank); a value has no control characters and no leading or trailing blank.
   */
  async replaceMap(mapPath: string, entries: ReadonlyArray<readonly [string, string]>): Promise<void> {
    const lines = entries.map(([k, v], i) => mapLine(mapPath, i, k, v));
    const map = cliArg(mapPath);
    return this.serial(`map:${mapPath}`, async () => {
      const prepare = `prepare map ${map}`;
      const created = await this.command(prepare);
      const ver = /^New version created: (\d+)$/.exec(created)?.[1];
      if (ver === undefined) throw new RuntimeApiError(prepare, created);
      try {
        for (const chunk of chunkLines(lines, this.chunkBytes)) {
          const add = `add map @${ver} ${map}`;
          const answer = await this.commandWithPayload(add, chunk);
          if (answer !== '') throw new RuntimeApiError(add, answer);
        }
        const commit = `commit map @${ver} ${map}`;
        const committed = await this.command(commit);
        if (committed !== '') throw new RuntimeApiError(commit, committed);
      } catch (err) {
        await this.command(`clear map @${ver} ${map}`).catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Points a server slot at `addr:port` and puts it in service (`enabled`) or in maintenance. Enabling
   * sets the address first and then `state ready`; disabling sets `state maint` first, so traffic never
   * reaches an address meant to be disabled. `addr` null only puts the slot in maintenance.
   */
  async setServer(backend: string, server: string, addr: string | null, port: number, enabled: boolean): Promise<void> {
    for (const [what, name] of [['backend', backend], ['server', server]] as const) {
      if (!/^[^\s/\\;\x00-\x1f\x7f]+$/.test(name)) throw new Error(`setServer: invalid ${what} name ${JSON.stringify(name)}`);
    }
    const target = `${backend}/${server}`;
    if (addr === null) {
      if (enabled) throw new Error(`setServer ${target}: a server without an address cannot be enabled`);
      await this.setServerState(target, 'maint');
      return;
    }
    if (isIP(addr) === 0) throw new Error(`setServer ${target}: "${addr}" is not an IPv4 or IPv6 address`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`setServer ${target}: port ${port} is not in 1-65535`);
    if (!enabled) await this.setServerState(target, 'maint');
    const cmd = `set server ${target} addr ${addr} port ${port}`;
    const answer = await this.command(cmd);
    if (!/^(IP changed from|no need to change the addr)/.test(answer)) throw new RuntimeApiError(cmd, answer);
    if (enabled) await this.setServerState(target, 'ready');
  }

  /**
   * Loads `pem` (certificate, chain and key) as the certificate known as `certPath`: `new ssl cert` when
   * HAProxy does not know it yet, then `set ssl cert` and `commit ssl cert`. A certificate already used by
   * a crt-list entry is replaced for new handshakes at the commit (a rotation). Blank lines and CRs in
   * `pem` are dropped (a payload cannot hold them). The whole request must fit HAProxy's buffer (16 kB).
   */
  async setCertificate(certPath: string, pem: string): Promise<void> {
    const cert = cliArg(certPath);
    const body = pem
      .replace(/\r/g, '')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .join('\n');
    if (!body.includes('-----BEGIN ')) throw new Error(`setCertificate ${certPath}: the PEM text holds no PEM block`);
    return this.serial(`cert:${certPath}`, async () => {
      const create = `new ssl cert ${cert}`;
      const created = await this.command(create);
      if (!/^New empty certificate store '.*'!$|already exists!$/.test(created)) throw new RuntimeApiError(create, created);
      const set = `set ssl cert ${cert}`;
      const answer = await this.commandWithPayload(set, body);
      if (!/^Transaction (created|updated) for certificate /.test(answer)) {
        await this.command(`abort ssl cert ${cert}`).catch(() => undefined);
        throw new RuntimeApiError(set, answer);
      }
      const commit = `commit ssl cert ${cert}`;
      const committed = await this.command(commit);
      if (!/(^|\n)Success!$/.test(committed)) {
        await this.command(`abort ssl cert ${cert}`).catch(() => undefined);
        throw new RuntimeApiError(commit, committed);
      }
    });
  }

  /**
   * Makes `certPath` the certificate for the SNI names `sniFilters` in `crtList`: adds the line
   * `<certPath> [alpn h2,http/1.1] <filters…>` (the options are left out when `alpn` is empty), then
   * deletes the lines the list already had for `certPath`, so there is never a moment without one and
   * calling it again does not pile up lines. The certificate must be known (setCertificate).
   */
  async addCrtListEntry(
    crtList: string,
    certPath: string,
    sniFilters: string[],
    opts: { alpn?: readonly string[] } = {},
  ): Promise<void> {
    const list = cliArg(crtList);
    cliArg(certPath);
    if (/\s/.test(certPath)) throw new Error(`addCrtListEntry: certificate path ${JSON.stringify(certPath)} holds a blank`);
    for (const f of sniFilters) {
      if (!/^!?[A-Za-z0-9*._-]+$/.test(f)) throw new Error(`addCrtListEntry ${certPath}: invalid SNI filter ${JSON.stringify(f)}`);
    }
    const alpn = opts.alpn ?? ['h2', 'http/1.1'];
    for (const p of alpn) {
      if (!/^[A-Za-z0-9._/-]+$/.test(p)) throw new Error(`addCrtListEntry ${certPath}: invalid ALPN protocol ${JSON.stringify(p)}`);
    }
    const line = [certPath, ...(alpn.length > 0 ? [`[alpn ${alpn.join(',')}]`] : []), ...sniFilters].join(' ');
    return this.serial(`crt-list:${crtList}`, async () => {
      const before = await this.crtListLines(crtList, certPath);
      const add = `add ssl crt-list ${list}`;
      const answer = await this.commandWithPayload(add, line);
      if (!/(^|\n)Success!$/.test(answer)) throw new RuntimeApiError(add, answer);
      for (const n of before) await this.deleteCrtListLine(crtList, certPath, n);
    });
  }

  /** Deletes every line of `crtList` for `certPath`; none is not an error. */
  async deleteCrtListEntry(crtList: string, certPath: string): Promise<void> {
    cliArg(crtList);
    cliArg(certPath);
    return this.serial(`crt-list:${crtList}`, async () => {
      for (const n of await this.crtListLines(crtList, certPath)) await this.deleteCrtListLine(crtList, certPath, n);
    });
  }

  /** `del ssl cert`: frees a certificate no crt-list line uses any more. One HAProxy does not know is not an error. */
  async deleteCertificate(certPath: string): Promise<void> {
    const cmd = `del ssl cert ${cliArg(certPath)}`;
    const answer = await this.command(cmd);
    if (/^Certificate '.*' deleted!$/.test(answer) || /certificate '.*' doesn't exist!$/.test(answer)) return;
    throw new RuntimeApiError(cmd, answer);
  }

  /** The lines of a crt-list as HAProxy holds them now, e.g. `/certs/a.pem [alpn h2,http/1.1] a.example`. */
  async showCrtList(crtList: string): Promise<string[]> {
    return (await this.crtList(crtList, false)).map((l) => l.text);
  }

  private async crtList(crtList: string, numbered: boolean): Promise<Array<{ text: string }>> {
    const cmd = `show ssl crt-list ${numbered ? '-n ' : ''}${cliArg(crtList)}`;
    const answer = await this.command(cmd);
    const [head, ...rest] = answer.split('\n');
    if (head !== `# ${crtList}`) throw new RuntimeApiError(cmd, answer);
    // 2.6 prints the ALPN option with a NUL byte before its closing bracket.
    return rest.filter((l) => l !== '').map((l) => ({ text: l.replace(/\0/g, '') }));
  }

  /** Line numbers of the entries of `crtList` for `certPath`. */
  private async crtListLines(crtList: string, certPath: string): Promise<number[]> {
    const out: number[] = [];
    for (const { text } of await this.crtList(crtList, true)) {
      const m = /^(\S+):(\d+)(\s|$)/.exec(text);
      if (m && m[1] === certPath) out.push(Number(m[2]));
    }
    return out;
  }

  private async deleteCrtListLine(crtList: string, certPath: string, line: number): Promise<void> {
    const cmd = `del ssl crt-list ${cliArg(crtList)} ${cliArg(`${certPath}:${line}`)}`;
    const answer = await this.command(cmd);
    if (!/^Entry '.*' deleted in crtlist '.*'!$/.test(answer)) throw new RuntimeApiError(cmd, answer);
  }

  private async setServerState(target: string, state: 'ready' | 'maint'): Promise<void> {
    const cmd = `set server ${target} state ${state}`;
    const answer = await this.command(cmd);
    if (answer !== '') throw new RuntimeApiError(cmd, answer);
  }

  private async exchange(cmd: string, request: string): Promise<string> {
    const dropped = (): RuntimeApiError =>
      new RuntimeApiError(
        cmd,
        '',
        `HAProxy closed the connection without an answer (is the request, ${Buffer.byteLength(request)} bytes, larger than its buffer, tune.bufsize?)`,
      );
    let raw: string;
    try {
      raw = await cliExchange(this.socketPath, request, this.timeoutMs);
    } catch (err) {
      // HAProxy resets a connection whose request it cannot buffer, possibly while we still write it
      if (err instanceof CliSocketError && (err.code === 'EPIPE' || err.code === 'ECONNRESET')) throw dropped();
      throw err;
    }
    if (raw === '') throw dropped();
    return raw.replace(/\n+$/, '');
  }

  /** Runs `fn` after every earlier call with the same key has settled. */
  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }
}

/** HAProxy answered a command with something other than the success it gives for that command. */
export class RuntimeApiError extends Error {
  constructor(
    readonly command: string,
    readonly answer: string,
    detail?: string,
  ) {
    super(`HAProxy Runtime API: "${command}" failed: ${detail ?? (answer.trim() || '(empty answer)')}`);
    this.name = 'RuntimeApiError';
  }
}

function checkCommandLine(cmd: string): void {
  if (cmd.trim() === '' || /[\r\n\0]/.test(cmd)) throw new Error(`an HAProxy CLI command is one non-empty line: ${JSON.stringify(cmd)}`);
}

function mapLine(mapPath: string, i: number, key: string, value: string): string {
  if (!/^[^\s\x00-\x1f\x7f]+$/.test(key)) {
    throw new Error(`replaceMap ${mapPath}: entry ${i}: key ${JSON.stringify(key)} is empty or holds a blank or control character`);
  }
  if (!/^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$/.test(value)) {
    throw new Error(
      `replaceMap ${mapPath}: entry ${i} (${JSON.stringify(key)}): value ${JSON.stringify(value)} is empty, ` +
        'starts or ends with a blank, or holds a control character',
    );
  }
  return `${key} ${value}`;
}

/** Lines joined into payloads of at most `maxBytes` (a longer line goes alone). */
function* chunkLines(lines: readonly string[], maxBytes: number): Generator<string> {
  let chunk: string[] = [];
  let size = 0;
  for (const line of lines) {
    const n = Buffer.byteLength(line) + 1;
    if (chunk.length > 0 && size + n > maxBytes) {
      yield chunk.join('\n');
      chunk = [];
      size = 0;
    }
    chunk.push(line);
    size += n;
  }
  if (chunk.length > 0) yield chunk.join('\n');
}
