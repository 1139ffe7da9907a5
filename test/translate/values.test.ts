import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseBalance,
  parseBool,
  parseCidrList,
  parseCookieName,
  parseDurationMs,
  parseIntRange,
  parseProtocol,
  parseSizeBytes,
  parseSslMinVersion,
} from '../../src/translate/values.js';
import { canonicalCidr, canonicalIp } from '../../src/translate/ip.js';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain, isIanaServiceName } from '../../src/store/names.js';

const value = <T>(r: { ok: true; value: T } | { ok: false; error: string }): T => {
  if (!r.ok) throw new Error(`expected ok, got: ${r.error}`);
  return r.value;
};
const err = (r: { ok: boolean; error?: string }): string => {
  assert.equal(r.ok, false, 'expected a rejection');
  return r.error!;
};

test('bool: only true and false', () => {
  assert.equal(value(parseBool('true')), true);
  assert.equal(value(parseBool('false')), false);
  for (const bad of ['True', 'yes', '1', ' true', 'true\n', '']) assert.match(err(parseBool(bad)), /write "true" or "false"/);
});

test('duration: units, bare seconds, range, and nothing else', () => {
  assert.equal(value(parseDurationMs('1ms')), 1);
  assert.equal(value(parseDurationMs('500ms')), 500);
  assert.equal(value(parseDurationMs('30')), 30_000);
  assert.equal(value(parseDurationMs('30s')), 30_000);
  assert.equal(value(parseDurationMs('2m')), 120_000);
  assert.equal(value(parseDurationMs('24h')), 86_400_000);
  assert.equal(value(parseDurationMs('1440m')), 86_400_000);
  for (const bad of ['0', '0s', '0ms', '25h', '86400001ms', '-1s', '1.5s', ' 5s', '5s ', '5 s', '5S', '5d', 's', '', '1e3', '0x10', '5s5']) {
    assert.match(err(parseDurationMs(bad)), /duration|out of range/, bad);
  }
});

test('size: bytes and 1024-based suffixes', () => {
  assert.equal(value(parseSizeBytes('0')), 0);
  assert.equal(value(parseSizeBytes('1000')), 1000);
  assert.equal(value(parseSizeBytes('1k')), 1024);
  assert.equal(value(parseSizeBytes('10m')), 10 * 1024 * 1024);
  assert.equal(value(parseSizeBytes('2G')), 2 * 1024 ** 3);
  for (const bad of ['1kb', '1.5m', '-1', ' 1', '1 k', 'k', '', '1t', '999999999999999g']) assert.equal(parseSizeBytes(bad).ok, false, bad);
});

test('integer ranges', () => {
  assert.equal(value(parseIntRange('0', 0, 10)), 0);
  assert.equal(value(parseIntRange('10', 0, 10)), 10);
  assert.match(err(parseIntRange('11', 0, 10)), /out of range/);
  for (const bad of ['-1', '+1', '1.0', '1e1', '', ' 1']) assert.equal(parseIntRange(bad, 0, 10).ok, false, bad);
});

test('load-balance', () => {
  assert.deepEqual(value(parseBalance('roundrobin')), { kind: 'roundrobin' });
  assert.deepEqual(value(parseBalance('leastconn')), { kind: 'leastconn' });
  assert.deepEqual(value(parseBalance('source')), { kind: 'source' });
  assert.deepEqual(value(parseBalance('header:X-User')), { kind: 'header', header: 'x-user' });
  for (const bad of ['random', 'RoundRobin', 'header:', 'header:X User', 'header:a\nb', 'header:a"b', 'header:a;b', 'header:(x)']) {
    assert.equal(parseBalance(bad).ok, false, bad);
  }
});

test('protocol is case-insensitive and maps gRPC', () => {
  assert.equal(value(parseProtocol('HTTP')), 'http');
  assert.equal(value(parseProtocol('https')), 'https');
  assert.equal(value(parseProtocol('H2C')), 'h2c');
  assert.equal(value(parseProtocol('grpc')), 'h2c');
  assert.equal(value(parseProtocol('GRPCS')), 'h2');
  assert.match(err(parseProtocol('h2')), /use HTTP, HTTPS, H2C, GRPC or GRPCS/);
});

test('cookie names and TLS versions', () => {
  assert.equal(value(parseCookieName('SESSION_1')), 'SESSION_1');
  for (const bad of ['', 'a b', 'a;b', 'a=b', 'a,b', 'x'.repeat(65), 'é']) assert.equal(parseCookieName(bad).ok, false, bad);
  assert.equal(value(parseSslMinVersion('TLSv1.3')), 'TLSv1.3');
  assert.equal(parseSslMinVersion('TLSv1.1').ok, false);
});

test('IP canonical forms', () => {
  for (const v4 of ['10.0.0.1', '0.0.0.0', '255.255.255.255', '192.168.100.9']) assert.equal(canonicalIp(v4), v4);
  assert.equal(canonicalIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIp('0:0:0:0:0:0:0:0'), '::');
  assert.equal(canonicalIp('::ffff:1.2.3.4'), '::ffff:102:304');
  assert.equal(canonicalIp('2001:db8:1:1:1:1:0:1'), '2001:db8:1:1:1:1:0:1');
  for (const bad of ['010.0.0.1', '1.2.3', '1.2.3.256', 'fe80::1%eth0', '1::2::3', 'a.b.c.d', '', ' 1.2.3.4', '1.2.3.4:80', '1.2.3.4\n', '1.2.3.4.5', '00.1.2.3', '1.2.3.-1']) {
    assert.equal(canonicalIp(bad), null, bad);
  }
});

test('CIDR lists: canonical, host bits cleared, sorted, deduplicated', () => {
  assert.deepEqual(value(parseCidrList('')), []);
  assert.deepEqual(value(parseCidrList('10.1.2.3/8, 192.168.1.7,10.0.0.0/8')), ['10.0.0.0/8', '192.168.1.7/32']);
  assert.deepEqual(value(parseCidrList('2001:DB8::1/32,::1')), ['2001:db8::/32', '::1/128']);
  assert.equal(canonicalCidr('10.0.0.0/33'), null);
  assert.equal(canonicalCidr('10.0.0.0/08'), null);
  assert.equal(canonicalCidr('::/129'), null);
  assert.equal(canonicalCidr('0.0.0.0/0'), '0.0.0.0/0');
  for (const bad of ['10.0.0.0/8,', ',10.0.0.0/8', '10.0.0.0/8;1.1.1.1', 'example.com', '10.0.0.0 /8', '10.0.0.0/8\n']) {
    assert.equal(parseCidrList(bad).ok, false, bad);
  }
});

test('Kubernetes name rules', () => {
  assert.ok(isDns1123Label('my-ns'));
  assert.ok(!isDns1123Label('my.ns'));
  assert.ok(!isDns1123Label('-a'));
  assert.ok(!isDns1123Label('a'.repeat(64)));
  assert.ok(isDns1123Subdomain('a.b-c.d'));
  assert.ok(!isDns1123Subdomain('A.b'));
  assert.ok(!isDns1123Subdomain('a_b'));
  assert.ok(!isDns1123Subdomain('a..b'));
  assert.ok(isDns1035Label('web'));
  assert.ok(!isDns1035Label('1web'));
  assert.ok(isIanaServiceName('http'));
  assert.ok(isIanaServiceName('h2c-1'));
  assert.ok(!isIanaServiceName('80'));
  assert.ok(!isIanaServiceName('a--b'));
  assert.ok(!isIanaServiceName('abcdefghijklmnop'));
});
