import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDevices, detectDevices, type CryptoDevices } from '../../src/crypto/devices.js';
import { decideOffload, SOFTWARE } from '../../src/crypto/offload.js';
import { probeOffload } from '../../src/crypto/probe.js';
import { builtinCrypto, type CryptoSettings } from '../../src/crypto/settings.js';
import { offloadLines, render } from '../../src/haproxy/render.js';
import { layout } from '../../src/haproxy/layout.js';
import { model } from '../helpers/model.js';

const NONE: CryptoDevices = { qat: [], vfio: [], tpm: [] };
const QAT: CryptoDevices = { qat: ['QAT0=0000:6b:00.1', 'QAT1=0000:6b:00.2'], vfio: ['/dev/vfio/12', '/dev/vfio/13'], tpm: [] };
const settings = (over: Partial<CryptoSettings>): CryptoSettings => ({ ...builtinCrypto(), ...over });

test('devices: QAT<n> variables in order, VFIO groups, TPMs; nothing else', () => {
  const dev = mkdtempSync(join(tmpdir(), 'gh-dev-'));
  try {
    mkdirSync(join(dev, 'vfio'));
    for (const f of ['vfio/vfio', 'vfio/13', 'vfio/noiommu-4', 'vfio/12', 'tpmrm0', 'tpm0', 'null']) writeFileSync(join(dev, f), '');
    const d = detectDevices({ QAT10: '0000:6c:00.1', QAT2: '0000:6b:00.3', QAT0: '0000:6b:00.1', QATX: 'no', QAT3: '', PATH: '/bin' }, dev);
    assert.deepEqual(d, {
      qat: ['QAT0=0000:6b:00.1', 'QAT2=0000:6b:00.3', 'QAT10=0000:6c:00.1'],
      vfio: ['/dev/vfio/12', '/dev/vfio/13', '/dev/vfio/noiommu-4'],
      tpm: ['/dev/tpmrm0'],
    });
    assert.deepEqual(detectDevices({ TPM2OPENSSL_TCTI: 'swtpm:port=2321' }, join(dev, 'missing')), { qat: [], vfio: [], tpm: ['tcti:swtpm:port=2321'] });
  } finally {
    rmSync(dev, { recursive: true, force: true });
  }
});

test('off, or nothing configured: software', () => {
  const off = decideOffload(settings({ offload: 'off', providers: ['qatprovider'] }), QAT, null);
  assert.equal(off.mode, 'software');
  assert.deepEqual(off.config, SOFTWARE);
  assert.match(off.reason, /crypto-offload is off/);
  const none = decideOffload(settings({}), QAT, null);
  assert.equal(none.mode, 'software');
  assert.match(none.reason, /no ssl-provider or ssl-engine is set/);
});

test('auto: the provider with devices and a successful load, else software with the reason', () => {
  const c = settings({ providers: ['qatprovider'], modeAsync: true });
  const on = decideOffload(c, QAT, { ok: true });
  assert.equal(on.mode, 'offload');
  assert.deepEqual(on.devices, describeDevices(QAT));
  assert.deepEqual(on.config, { ...SOFTWARE, providers: ['qatprovider', 'default'], modeAsync: true });
  const noDevices = decideOffload(c, NONE, null);
  assert.equal(noDevices.mode, 'software');
  assert.match(noDevices.reason, /no accelerator device.*qat\.intel\.com\/generic.*TLS is done in software/);
  const failed = decideOffload(c, QAT, { ok: false, error: 'ssl-provider qatprovider: unknown provider' });
  assert.equal(failed.mode, 'software');
  assert.equal(failed.reason, 'HAProxy could not load qatprovider: ssl-provider qatprovider: unknown provider: TLS is done in software');
});

test('required: the provider, or no HTTPS at all', () => {
  const c = settings({ offload: 'required', providers: ['tpm2'] });
  assert.equal(decideOffload(c, { ...NONE, tpm: ['tcti:swtpm:port=1'] }, { ok: true }).mode, 'offload');
  for (const [devices, probe, why] of [
    [NONE, null, /no accelerator device/],
    [QAT, { ok: false, error: 'boom' }, /could not load tpm2: boom/],
  ] as const) {
    const s = decideOffload(c, devices, probe);
    assert.equal(s.mode, 'refused');
    assert.equal(s.config.serveHttps, false);
    assert.deepEqual(s.config.providers, [], 'nothing is loaded');
    assert.match(s.reason, why);
    assert.match(s.reason, /^crypto-offload is required, but .*: HTTPS is not served and the gateway is not ready until this is fixed$/);
  }
  assert.equal(decideOffload(settings({ offload: 'required' }), QAT, null).mode, 'refused', 'required with nothing configured');
});

test('default is loaded after the providers unless they name default or fips', () => {
  const on = (providers: string[]) => decideOffload(settings({ providers }), QAT, { ok: true }).config.providers;
  assert.deepEqual(on(['tpm2']), ['tpm2', 'default']);
  assert.deepEqual(on(['default', 'qatprovider']), ['default', 'qatprovider']);
  assert.deepEqual(on(['fips', 'qatprovider']), ['fips', 'qatprovider']);
});

test('rendered: the path before the providers, then propquery, engine and async; HTTPS bind only when served', () => {
  const config = { ...SOFTWARE, providers: ['qatprovider', 'default'], providerPath: '/opt/qat/lib', propquery: '?provider=qatprovider', modeAsync: true };
  assert.deepEqual(offloadLines(config), ['  ssl-provider-path /opt/qat/lib', '  ssl-provider qatprovider', '  ssl-provider default', '  ssl-propquery ?provider=qatprovider', '  ssl-mode-async']);
  assert.deepEqual(offloadLines({ ...SOFTWARE, engine: 'qat', engineAlgos: ['RSA', 'EC'] }), ['  ssl-engine qat algo RSA,EC']);
  assert.deepEqual(offloadLines(SOFTWARE), []);
  const base = { model: model(), slots: new Map(), layout: layout('/state'), listen: { address: '127.0.0.1', httpPort: 80, httpsPort: 443 } };
  const on = render({ ...base, offload: config });
  assert.match(on.config, /^global\n(?:.*\n)*  ssl-provider-path \/opt\/qat\/lib\n  ssl-provider qatprovider\n/m);
  assert.match(on.config, /bind 127\.0\.0\.1:443 ssl crt/);
  assert.notEqual(on.structure, render(base).structure, 'a change of providers is a change of structure (a reload)');
  const refused = render({ ...base, offload: { ...SOFTWARE, serveHttps: false } });
  assert.doesNotMatch(refused.config, /:443/);
  assert.match(refused.config, /bind 127\.0\.0\.1:80\n/);
});

test('the probe loads providers in the real HAProxy: legacy loads, an unknown one is reported in HAProxy\'s words', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-probe-'));
  try {
    assert.deepEqual(await probeOffload('haproxy', { ...SOFTWARE, providers: ['legacy', 'default'] }, dir), { ok: true });
    const missing = await probeOffload('haproxy', { ...SOFTWARE, providers: ['nosuchprovider', 'default'] }, dir);
    assert.equal(missing.ok, false);
    assert.match((missing as { error: string }).error, /ssl-provider nosuchprovider: unknown provider/);
    const elsewhere = await probeOffload('haproxy', { ...SOFTWARE, providerPath: dir, providers: ['legacy'] }, dir);
    assert.equal(elsewhere.ok, false, 'legacy is not in the directory given');
    const noBinary = await probeOffload('/nonexistent/haproxy', SOFTWARE, dir);
    assert.match((noBinary as { error: string }).error, /cannot run \/nonexistent\/haproxy/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
