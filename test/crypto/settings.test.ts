import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVersionInfo, probeCapabilities, type HaproxyCapabilities } from '../../src/crypto/capabilities.js';
import { builtinCrypto, enforceCapabilities, parseEngineAlgos, parseOffloadMode, parsePropquery, parseProviderList, parseProviderPath } from '../../src/crypto/settings.js';
import { checkFlagSettings } from '../../src/translate/settings.js';
import { configMap, errors, only, run, warnings } from '../translate/helpers.js';

/** The head of `haproxy -vv` from Debian bookworm's HAProxy 2.6 (no ENGINE, OpenSSL 3). */
const DEBIAN_26 = `HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/
Feature list : -51DEGREES +ACCEPT4 +BACKTRACE -ENGINE +EPOLL +OPENSSL +THREAD
Built with OpenSSL version : OpenSSL 3.0.22 25 Aug 2026
Running on OpenSSL version : OpenSSL 3.0.19 27 Jan 2026
OpenSSL providers loaded : default
`;
/** An older build with OpenSSL 1.1 and ENGINE support. */
const ENGINE_24 = `HAProxy version 2.4.22-0ubuntu0.22.04.3 2023/08/14 - https://haproxy.org/
Feature list : +EPOLL -KQUEUE +NETFILTER +PCRE +ENGINE +OPENSSL +THREAD
Built with OpenSSL version : OpenSSL 1.1.1f  31 Mar 2020
Running on OpenSSL version : OpenSSL 1.1.1f  31 Mar 2020
`;

const DEBIAN = parseVersionInfo(DEBIAN_26);
const ENGINE = parseVersionInfo(ENGINE_24);

test('haproxy -vv: providers with 2.6 on OpenSSL 3, engines only with +ENGINE', () => {
  assert.deepEqual(DEBIAN, { version: '2.6.12-1+deb12u4', openssl: 'OpenSSL 3.0.19 27 Jan 2026', providers: true, engine: false, async: true });
  assert.deepEqual(ENGINE, { version: '2.4.22-0ubuntu0.22.04.3', openssl: 'OpenSSL 1.1.1f  31 Mar 2020', providers: false, engine: true, async: true });
  assert.deepEqual(parseVersionInfo('HAProxy version 2.8.3\nFeature list : +EPOLL\n'), { version: '2.8.3', openssl: null, providers: false, engine: false, async: false }, 'a build without OpenSSL');
});

test('the HAProxy here is probed for real and matches what it prints', async () => {
  const caps = await probeCapabilities('haproxy');
  assert.match(caps.version, /^\d+\.\d+/);
  // Debian bookworm's HAProxy, which CI installs: OpenSSL 3 providers, no ENGINE.
  assert.equal(caps.providers, true);
  assert.equal(caps.engine, false);
  await assert.rejects(probeCapabilities('/nonexistent/haproxy'), /cannot run \/nonexistent\/haproxy -vv/);
});

test('setting values are parsed exactly or refused with what to write', () => {
  assert.deepEqual(parseOffloadMode('required'), { ok: true, value: 'required' });
  assert.match((parseOffloadMode('on') as { error: string }).error, /write auto, required or off/);
  assert.deepEqual(parseProviderList('qatprovider,default'), { ok: true, value: ['qatprovider', 'default'] });
  assert.deepEqual(parseProviderList(''), { ok: true, value: [] });
  for (const bad of ['qat provider', 'qat,,default', 'qat\ndefault', 'x;global', 'qat, default']) assert.equal(parseProviderList(bad).ok, false, bad);
  assert.match((parseProviderList('qat,qat') as { error: string }).error, /listed twice/);
  assert.deepEqual(parseProviderPath('/usr/lib/x86_64-linux-gnu/ossl-modules'), { ok: true, value: '/usr/lib/x86_64-linux-gnu/ossl-modules' });
  for (const bad of ['relative/dir', '/a/../etc', '/a b', '/a\n  stats socket']) assert.equal(parseProviderPath(bad).ok, false, bad);
  for (const good of ['?provider=qatprovider', 'fips=yes', '-fips', '?provider=tpm2,?fips!=yes']) assert.equal(parsePropquery(good).ok, true, good);
  for (const bad of ['provider = x', 'a=b c', '?provider=x\nssl-engine y', '"x"']) assert.equal(parsePropquery(bad).ok, false, bad);
  assert.deepEqual(parseEngineAlgos('RSA,EC'), { ok: true, value: ['RSA', 'EC'] });
  assert.match((parseEngineAlgos('rsa') as { error: string }).error, /ALL, RSA/);
});

test('the ConfigMap keys reach the model; flags set their defaults and the ConfigMap wins', () => {
  let r = run([configMap({ 'crypto-offload': 'required', 'ssl-provider': 'qatprovider', 'ssl-provider-path': '/opt/qat/lib', 'ssl-propquery': '?provider=qatprovider', 'ssl-mode-async': 'true' })], { settings: { haproxy: DEBIAN } });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.model.settings.crypto, { offload: 'required', providers: ['qatprovider'], providerPath: '/opt/qat/lib', propquery: '?provider=qatprovider', modeAsync: true, engine: null, engineAlgos: [] });
  r = run([], { settings: { defaults: { 'ssl-provider': 'tpm2', 'crypto-offload': 'off' } } });
  assert.deepEqual(r.model.settings.crypto, { ...builtinCrypto(), providers: ['tpm2'], offload: 'off' });
  r = run([configMap({ 'crypto-offload': 'auto' })], { settings: { defaults: { 'ssl-provider': 'tpm2', 'crypto-offload': 'off' } } });
  assert.equal(r.model.settings.crypto.offload, 'auto', 'the ConfigMap overrides the flag');
  assert.deepEqual(r.model.settings.crypto.providers, ['tpm2'], 'keys the ConfigMap does not set keep the flag');
});

test('an invalid offload key is refused alone; the other keys apply', () => {
  const r = run([configMap({ 'ssl-provider': 'qat provider', 'crypto-offload': 'required', 'client-timeout': '9s' })]);
  assert.match(only(errors(r), 'data["ssl-provider"]').message, /not a provider name.*using the default ''/);
  assert.equal(r.model.settings.crypto.offload, 'required');
  assert.deepEqual(r.model.settings.crypto.providers, []);
  assert.equal(r.model.settings.clientTimeoutMs, 9000);
});

test('ssl-engine on an HAProxy without ENGINE is refused with a pointer to providers; with ENGINE it is kept', () => {
  let r = run([configMap({ 'ssl-engine': 'qat', 'ssl-engine-algos': 'RSA,EC', 'ssl-provider': 'qatprovider' })], { settings: { haproxy: DEBIAN } });
  const e = only(errors(r), 'data["ssl-engine"]');
  assert.match(e.message, /needs an HAProxy built with ENGINE support, and HAProxy 2\.6\.12-1\+deb12u4 on OpenSSL 3\.0\.19 27 Jan 2026 has none/);
  assert.match(e.message, /set ssl-provider instead \(for Intel QAT: ssl-provider "qatprovider"\)/);
  assert.equal(r.model.settings.crypto.engine, null);
  assert.deepEqual(r.model.settings.crypto.engineAlgos, []);
  assert.deepEqual(r.model.settings.crypto.providers, ['qatprovider'], 'the rest of the ConfigMap still applies');
  r = run([configMap({ 'ssl-engine': 'qat', 'ssl-engine-algos': 'RSA,EC' })], { settings: { haproxy: ENGINE } });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual([r.model.settings.crypto.engine, r.model.settings.crypto.engineAlgos], ['qat', ['RSA', 'EC']]);
  r = run([configMap({ 'ssl-provider': 'qatprovider', 'ssl-propquery': '?provider=qatprovider' })], { settings: { haproxy: ENGINE } });
  assert.match(only(errors(r), 'data["ssl-provider"]').message, /needs HAProxy 2\.6 or newer built with OpenSSL 3, and this is HAProxy 2\.4\.22/);
  only(errors(r), 'data["ssl-propquery"]');
  assert.deepEqual(r.model.settings.crypto.providers, []);
  r = run([configMap({ 'ssl-engine-algos': 'RSA' })]);
  assert.match(only(warnings(r), 'data["ssl-engine-algos"]').message, /no effect without ssl-engine/);
});

test('flags are checked with the same parsers and against the binary', () => {
  assert.deepEqual(checkFlagSettings({ 'ssl-provider': 'qatprovider', 'crypto-offload': 'auto' }, DEBIAN), []);
  const caps: HaproxyCapabilities = DEBIAN;
  assert.deepEqual(checkFlagSettings({ 'ssl-engine': 'qat' }, caps).length, 1);
  assert.match(checkFlagSettings({ 'ssl-engine': 'qat' }, caps)[0]!, /^--ssl-engine: ssl-engine needs an HAProxy built with ENGINE support/);
  assert.match(checkFlagSettings({ 'crypto-offload': 'maybe' })[0]!, /^--crypto-offload: "maybe" is not an offload mode/);
  assert.match(checkFlagSettings({ 'client-timeout': '5s' })[0]!, /--client-timeout is not a setting flag/);
});

test('enforceCapabilities resets only what the binary cannot do', () => {
  const c = { ...builtinCrypto(), providers: ['qatprovider'], modeAsync: true, engine: 'qat', engineAlgos: ['RSA'] };
  assert.deepEqual(enforceCapabilities(c, DEBIAN).map((p) => p.key), ['ssl-engine']);
  assert.deepEqual(c, { ...builtinCrypto(), providers: ['qatprovider'], modeAsync: true });
  const noSsl = parseVersionInfo('HAProxy version 2.8.3\nFeature list : +EPOLL\n');
  assert.deepEqual(enforceCapabilities(c, noSsl).map((p) => p.key), ['ssl-provider', 'ssl-mode-async']);
  assert.deepEqual(c, builtinCrypto());
});
