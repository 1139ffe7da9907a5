import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { test, type TestContext } from 'node:test';
import { cliArg } from '../../src/haproxy/cli-socket.js';
import { RuntimeApi, RuntimeApiError } from '../../src/haproxy/runtime.js';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert, type TestCert } from '../helpers/certs.js';
import { request } from '../helpers/client.js';
import { startPlainHaproxy } from '../helpers/haproxy.js';
import { freePort } from '../helpers/ports.js';

interface Rig {
  dir: string;
  api: RuntimeApi;
  httpPort: number;
  httpsPort: number;
  a: EchoBackend;
  b: EchoBackend;
  routesMap: string;
  crtList: string;
  defaultCert: TestCert;
}

/** A real HAProxy with an exact-path route map, three backends and a TLS listener with a crt-list; gone after `t`. */
async function rig(t: TestContext): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-runtime-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = await startEchoBackend('A');
  t.after(() => a.close());
  const b = await startEchoBackend('B');
  t.after(() => b.close());
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const routesMap = join(dir, 'routes.map');
  const crtList = join(dir, 'crt-list.txt');
  const defaultCert = makeCert(['default.test']);
  writeFileSync(join(dir, 'default.pem'), defaultCert.pem);
  writeFileSync(routesMap, '');
  writeFileSync(crtList, '');
  const haproxy = await startPlainHaproxy(
    dir,
    `global
  stats socket ${dir}/admin.sock mode 600 level admin expose-fd listeners
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:${httpPort}
  bind 127.0.0.1:${httpsPort} ssl crt ${dir}/default.pem crt-list ${crtList} alpn h2,http/1.1
  http-request set-var(txn.route) path,map_str(${routesMap})
  use_backend %[var(txn.route)] if { var(txn.route) -m found }
  default_backend be_none
backend be_none
  http-request return status 404 content-type text/plain string nomatch
backend be_a
  server s1 127.0.0.1:${a.port}
backend be_b
  server s1 127.0.0.1:${b.port}
backend be_slots
  server s1 127.0.0.1:1 disabled
  server s2 127.0.0.1:1 disabled
`,
  );
  t.after(() => haproxy.stop());
  return { dir, api: new RuntimeApi(haproxy.adminSocket), httpPort, httpsPort, a, b, routesMap, crtList, defaultCert };
}

/** A TLS handshake with SNI `servername`: the certificate's CN and fingerprint, the ALPN chosen. */
function hello(port: number, servername: string): Promise<{ cn: string | undefined; fingerprint: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] });
    s.setTimeout(5000, () => s.destroy(new Error(`TLS handshake with ${servername} timed out`)));
    s.on('error', reject);
    s.on('secureConnect', () => {
      const cert = s.getPeerCertificate();
      const cn = cert.subject?.CN;
      resolve({ cn: Array.isArray(cn) ? cn[0] : cn, fingerprint: cert.fingerprint256, alpn: s.alpnProtocol });
      s.end();
    });
  });
}

/** A key as `get map` wants it on its command line (escaped), and the value HAProxy reports for it. */
async function lookup(api: RuntimeApi, map: string, key: string): Promise<string | undefined> {
  const answer = await api.command(`get map ${cliArg(map)} ${cliArg(key)}`);
  if (/found=no/.test(answer)) return undefined;
  const m = /, key="(.*)", value="(.*)", type=/.exec(answer);
  assert.ok(m, `get map answer: ${answer}`);
  assert.equal(m[1], key, 'the key HAProxy matched');
  return m[2];
}

test('command, showInfo and connection errors', async (t) => {
  const { api } = await rig(t);
  const info = await api.showInfo();
  assert.match(info['Pid'] ?? '', /^\d+$/);
  assert.match(info['Version'] ?? '', /^2\./);
  // an unknown command is an answer, not a failure of command(): the typed helpers judge answers
  assert.match(await api.command('no such command'), /^Unknown command/);
  // `;` separates commands on a command line: cliArg escapes it
  assert.equal(cliArg("a;b c\\d'e"), "a\\;b\\ c\\\\d'e");
  await assert.rejects(() => api.command('show info\nshow version'), /one non-empty line/);
  await assert.rejects(() => api.commandWithPayload('add map @1 /x.map', 'k v\n\nshow info'), /blank/);

  await assert.rejects(() => new RuntimeApi(join(tmpdir(), 'gh-no-such.sock')).command('show info'), /ENOENT/);
  // a socket that accepts and never answers: rejected at the timeout
  const dir = mkdtempSync(join(tmpdir(), 'gh-mute-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const held: Socket[] = [];
  const mute = createServer((s) => held.push(s));
  await new Promise<void>((r) => mute.listen(join(dir, 'mute.sock'), r));
  t.after(() => {
    held.forEach((s) => s.destroy());
    mute.close();
  });
  const started = Date.now();
  await assert.rejects(() => new RuntimeApi(join(dir, 'mute.sock'), { timeoutMs: 200 }).command('show info'), /no complete answer within 200 ms/);
  assert.ok(Date.now() - started < 2000);
});

test('replaceMap: traffic follows the new map atomically, keys with ; \' " \\ and friends work', async (t) => {
  const { api, httpPort, routesMap } = await rig(t);
  const odd = "/p;q'r\"s\\t$&()*+,=:@!~{}|^`";
  await api.replaceMap(routesMap, [['/a', 'be_a'], [odd, 'be_b'], ['/x;show_info', 'be_a']]);
  assert.equal((await request(httpPort, { path: '/a' })).backend, 'A');
  // the key as HAProxy stored it (get map) and as real traffic matches it
  assert.equal(await lookup(api, routesMap, odd), 'be_b');
  const reply = await request(httpPort, { path: odd });
  assert.equal(JSON.parse(reply.body).url, odd, 'the path reached the backend unchanged');
  assert.equal(reply.backend, 'B');
  assert.equal(await lookup(api, routesMap, '/x;show_info'), 'be_a');
  assert.equal(await lookup(api, routesMap, '/x'), undefined, 'the key was not cut at the ;');
  assert.equal((await request(httpPort, { path: '/x;show_info' })).backend, 'A');
  // the replacement is whole: /a is gone, the odd key now goes elsewhere
  await api.replaceMap(routesMap, [[odd, 'be_a']]);
  assert.equal((await request(httpPort, { path: odd })).backend, 'A');
  assert.equal((await request(httpPort, { path: '/a' })).status, 404);
  assert.equal(await lookup(api, routesMap, '/a'), undefined);
  // an empty map
  await api.replaceMap(routesMap, []);
  assert.equal((await request(httpPort, { path: odd })).status, 404);
});

test('replaceMap: 20000 entries in chunks', async (t) => {
  const { api, httpPort, routesMap } = await rig(t);
  const entries: Array<[string, string]> = [];
  for (let i = 0; i < 20_000; i++) entries.push([`/svc/${i}/${'x'.repeat(20)}`, i % 2 ? 'be_a' : 'be_b']);
  await api.replaceMap(routesMap, entries);
  const dump = await api.command(`show map ${routesMap}`);
  assert.equal(dump.split('\n').length, 20_000);
  assert.equal(await lookup(api, routesMap, entries[0]![0]), 'be_b');
  assert.equal(await lookup(api, routesMap, entries[12_345]![0]), 'be_a');
  assert.equal((await request(httpPort, { path: entries[19_999]![0] })).backend, 'A');
});

test('replaceMap refuses what a payload cannot carry and reports HAProxy errors; the map keeps its content', async (t) => {
  const { api, httpPort, routesMap } = await rig(t);
  await api.replaceMap(routesMap, [['/a', 'be_a']]);
  await assert.rejects(() => api.replaceMap(routesMap, [['/a b', 'be_a']]), /key "\/a b" is empty or holds a blank/);
  await assert.rejects(() => api.replaceMap(routesMap, [['/a\nshow info', 'be_a']]), /holds a blank or control/);
  await assert.rejects(() => api.replaceMap(routesMap, [['/a', '']]), /value "" is empty/);
  await assert.rejects(() => api.replaceMap(routesMap, [['/a', 'be_a\n']]), /control character/);
  await assert.rejects(
    () => api.replaceMap('/no/such.map', [['/a', 'be_a']]),
    (err: unknown) => err instanceof RuntimeApiError && err.command === 'prepare map /no/such.map' && /Unknown map identifier/.test(err.message),
  );
  // one line larger than HAProxy's buffer: no answer at all, reported; the version is dropped
  await assert.rejects(() => api.replaceMap(routesMap, [['/big', 'x'.repeat(20_000)]]), /without an answer/);
  assert.equal((await request(httpPort, { path: '/a' })).backend, 'A');
  assert.equal(await lookup(api, routesMap, '/big'), undefined);
});

test('concurrent replaceMap calls on one map run in turn; the last one wins', async (t) => {
  const { api, httpPort, routesMap } = await rig(t);
  await Promise.all([
    api.replaceMap(routesMap, [['/r', 'be_a']]),
    api.replaceMap(routesMap, [['/r', 'be_b']]),
    api.replaceMap(routesMap, [['/r', 'be_a'], ['/s', 'be_b']]),
  ]);
  assert.equal((await request(httpPort, { path: '/r' })).backend, 'A');
  assert.equal((await request(httpPort, { path: '/s' })).backend, 'B');
});

test('setServer: address, port and state; traffic reaches the new backend', async (t) => {
  const { api, httpPort, routesMap, a, b } = await rig(t);
  await api.replaceMap(routesMap, [['/slots', 'be_slots']]);
  assert.equal((await request(httpPort, { path: '/slots' })).status, 503, 'both slots start disabled');
  await api.setServer('be_slots', 's1', '127.0.0.1', a.port, true);
  assert.equal((await request(httpPort, { path: '/slots' })).backend, 'A');
  await api.setServer('be_slots', 's1', '127.0.0.1', b.port, true);
  assert.equal((await request(httpPort, { path: '/slots' })).backend, 'B');
  assert.match(await api.command('show servers state be_slots'), new RegExp(`be_slots 1 s1 127\\.0\\.0\\.1 .* ${b.port} `));
  await api.setServer('be_slots', 's1', null, 0, false);
  assert.equal((await request(httpPort, { path: '/slots' })).status, 503);
  // disabled with an address: it is set but gets no traffic
  await api.setServer('be_slots', 's2', '127.0.0.1', a.port, false);
  assert.equal((await request(httpPort, { path: '/slots' })).status, 503);
  await api.setServer('be_slots', 's2', '127.0.0.1', a.port, true);
  assert.equal((await request(httpPort, { path: '/slots' })).backend, 'A');

  await assert.rejects(() => api.setServer('be_nope', 's1', '127.0.0.1', 80, true), /"set server be_nope\/s1 addr 127\.0\.0\.1 port 80" failed: No such backend\./);
  await assert.rejects(() => api.setServer('be_slots', 's9', '127.0.0.1', 80, true), /No such server\./);
  await assert.rejects(() => api.setServer('be_slots', 's1', 'example.com', 80, true), /not an IPv4 or IPv6 address/);
  await assert.rejects(() => api.setServer('be_slots', 's1', '127.0.0.1', 70_000, true), /not in 1-65535/);
  await assert.rejects(() => api.setServer('be;x', 's1', '127.0.0.1', 80, true), /invalid backend name/);
  await assert.rejects(() => api.setServer('be_slots', 's1', null, 0, true), /cannot be enabled/);
  assert.equal((await request(httpPort, { path: '/slots' })).backend, 'A', 'failed calls changed nothing');
});

test('certificates: new cert + crt-list entry serve its SNI, rotation, removal', async (t) => {
  const { api, httpsPort, crtList, dir } = await rig(t);
  const certPath = join(dir, 'new.test.pem');
  assert.equal((await hello(httpsPort, 'new.test')).cn, 'default.test');

  const first = makeCert(['new.test', 'www.new.test']);
  await api.setCertificate(certPath, first.pem.replace(/\n/g, '\r\n\n'));
  await api.addCrtListEntry(crtList, certPath, ['new.test', 'www.new.test']);
  const got = await hello(httpsPort, 'www.new.test');
  assert.equal(got.cn, 'new.test');
  assert.equal(got.alpn, 'h2');
  assert.equal((await hello(httpsPort, 'other.test')).cn, 'default.test');
  assert.deepEqual(await api.showCrtList(crtList), [`${certPath} [alpn h2,http/1.1] new.test www.new.test`]);

  // rotation: same path, new key and certificate, no crt-list change
  const second = makeCert(['new.test']);
  await api.setCertificate(certPath, second.pem);
  const rotated = await hello(httpsPort, 'new.test');
  assert.equal(rotated.cn, 'new.test');
  assert.notEqual(rotated.fingerprint, got.fingerprint);
  // adding the entry again (fewer names now) replaces the line instead of piling one up
  await api.addCrtListEntry(crtList, certPath, ['new.test']);
  assert.deepEqual(await api.showCrtList(crtList), [`${certPath} [alpn h2,http/1.1] new.test`]);
  assert.equal((await hello(httpsPort, 'www.new.test')).cn, 'default.test');

  // in use: cannot be deleted yet
  await assert.rejects(() => api.deleteCertificate(certPath), /in use/);
  await api.deleteCrtListEntry(crtList, certPath);
  assert.deepEqual(await api.showCrtList(crtList), []);
  assert.equal((await hello(httpsPort, 'new.test')).cn, 'default.test');
  await api.deleteCrtListEntry(crtList, certPath); // nothing left: no error
  await api.deleteCertificate(certPath);
  assert.doesNotMatch(await api.command('show ssl cert'), /new\.test\.pem/);
  await api.deleteCertificate(certPath); // unknown: no error
});

test('certificate errors carry the command and HAProxy\'s answer', async (t) => {
  const { api, crtList, dir, defaultCert } = await rig(t);
  const certPath = join(dir, 'bad.pem');
  await assert.rejects(() => api.setCertificate(certPath, 'not a pem'), /holds no PEM block/);
  await assert.rejects(
    () => api.setCertificate(certPath, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    /"set ssl cert .*bad\.pem" failed: unable to load certificate/,
  );
  await assert.rejects(() => api.setCertificate(certPath, defaultCert.cert), /"commit ssl cert .*bad\.pem" failed: The transaction must contain at least a certificate and a private key/);
  await assert.rejects(() => api.addCrtListEntry(crtList, join(dir, 'unknown.pem'), ['x.test']), /certificate '.*unknown\.pem' does not exist/);
  await assert.rejects(() => api.addCrtListEntry(join(dir, 'no-list.txt'), certPath, ['x.test']), /didn't find the specified filename/);
  await assert.rejects(() => api.addCrtListEntry(crtList, certPath, ['x.test;show info']), /invalid SNI filter/);
  await assert.rejects(() => api.showCrtList(join(dir, 'no-list.txt')), /"show ssl crt-list .*no-list\.txt" failed: didn't find the specified filename/);
  // a failed set left no transaction behind: a good certificate goes through afterwards
  await api.setCertificate(certPath, makeCert(['ok.test']).pem);
});
