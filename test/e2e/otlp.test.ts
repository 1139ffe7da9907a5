import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert } from '../helpers/certs.js';
import { request } from '../helpers/client.js';
import { metricValue } from '../helpers/controller.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { ingress, service, tlsSecret, yamlOf } from '../helpers/manifests.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedRecord } from '../helpers/otlp-receiver.js';
import { waitFor } from '../helpers/wait.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

describe('OTLP export: flows reach a collector as log records, and a collector that fails costs no traffic', () => {
  const cert = makeCert(['web.example.com']);
  let web: EchoBackend;
  let collector: OtlpReceiver;
  let gw: RunningGateway;

  before(async () => {
    web = await startEchoBackend('web');
    collector = await startOtlpReceiver();
    gw = await startGateway(
      yamlOf(
        ...service('web', [{ port: web.port }]),
        ...service('empty', []),
        tlsSecret('web-tls', cert.cert, cert.key),
        ingress('web', {
          tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }],
          annotations: { 'gatehouse.io/ssl-redirect': 'false' },
          rules: [{ host: 'web.example.com', paths: [{ path: '/api', service: 'web' }, { path: '/none', service: 'empty' }] }],
        }),
      ),
      ['--otlp-endpoint', collector.url],
    );
  });
  after(async () => {
    await gw?.stop();
    await collector?.close();
    await web?.close();
  });

  const recordFor = async (path: string): Promise<ReceivedRecord> => {
    let found: ReceivedRecord | undefined;
    await waitFor(() => (found = collector.records.find((r) => r.attributes['url.path'] === path)) !== undefined, 10_000, `the log record of ${path} at the collector`);
    return found!;
  };
  const logLines = (text: string): number => gw.logs().split('\n').filter((l) => l.includes(text)).length;
  const flowsExported = async (result: string): Promise<number> => metricValue(await gw.metrics(), 'gatehouse_otlp_flows_total', { result });

  test('plain, TLS and failed requests arrive with the flow as attributes, on a gatehouse resource', async () => {
    assert.equal((await request(gw.httpPort, { host: 'web.example.com', path: '/api/plain' })).status, 200);
    assert.equal((await request(gw.httpsPort, { host: 'web.example.com', path: '/api/tls', tls: { servername: 'web.example.com' } })).status, 200);
    assert.equal((await request(gw.httpPort, { host: 'web.example.com', path: '/none/x' })).status, 503);

    const plain = await recordFor('/api/plain');
    assert.equal(plain.resource['service.name'], 'gatehouse');
    assert.match(String(plain.resource['service.version']), /^\d+\.\d+\.\d+/);
    assert.equal(plain.scope, 'gatehouse.flows');
    assert.equal(plain.eventName, 'gatehouse.flow');
    assert.equal(plain.severityText, 'INFO');
    assert.match(String(plain.body), /default\/web .*GET web\.example\.com\/api\/plain 200 FORWARDED/);
    assert.ok(BigInt(plain.timeUnixNano) > 0n, 'the record has the flow\'s time');
    const a = plain.attributes;
    assert.equal(a['gatehouse.flow.verdict'], 'FORWARDED');
    assert.match(String(a['gatehouse.flow.id']), /^[0-9a-f-]{36}$/);
    assert.equal(a['client.address'], '127.0.0.1');
    assert.equal(a['gatehouse.ingress.namespace'], 'default');
    assert.equal(a['gatehouse.ingress.name'], 'web');
    assert.equal(a['server.address'], 'web.example.com');
    assert.equal(a['gatehouse.rule.path_type'], 'Prefix');
    assert.equal(a['http.route'], '/api');
    assert.equal(a['gatehouse.service.name'], 'web');
    assert.equal(a['gatehouse.endpoint.port'], web.port);
    assert.equal(a['http.request.method'], 'GET');
    assert.equal(a['http.response.status_code'], 200);
    assert.equal(a['tls.protocol.version'], undefined, 'plain HTTP has no TLS attributes');

    const tls = await recordFor('/api/tls');
    assert.equal(tls.attributes['tls.protocol.version'], '1.3');
    assert.equal(tls.attributes['tls.client.server_name'], 'web.example.com');
    assert.equal(tls.attributes['tls.resumed'], false);
    assert.equal(tls.attributes['gatehouse.tls.offloaded'], false);

    const failed = await recordFor('/none/x');
    assert.equal(failed.severityText, 'ERROR');
    assert.equal(failed.attributes['gatehouse.flow.verdict'], 'ERROR');
    assert.equal(failed.attributes['gatehouse.flow.reason'], 'no-endpoint');
    assert.equal(failed.attributes['http.response.status_code'], 503);
    assert.equal(failed.attributes['gatehouse.endpoint.address'], undefined);
    assert.ok((await flowsExported('sent')) >= 3);
  });

  test('while the collector is down the gateway serves, and what it could not send yet arrives once it is back', async () => {
    await collector.close();
    for (let i = 0; i < 3; i++) assert.equal((await request(gw.httpPort, { host: 'web.example.com', path: `/api/down-${i}` })).status, 200);
    await collector.reopen();
    for (let i = 0; i < 3; i++) await recordFor(`/api/down-${i}`);
  });

  test('a collector refusing exports is reported once, not per export, and once more when it accepts again', async () => {
    const failedBefore = await flowsExported('failed');
    assert.equal(logLines('OTLP export to'), 0, 'no export has failed yet');
    collector.answerWith(503);
    // Two waves: a batch holds only flows that exist when it is sent, so two failed waves are two failed exports.
    for (const wave of [1, 2]) {
      assert.equal((await request(gw.httpPort, { host: 'web.example.com', path: `/api/refused-${wave}` })).status, 200);
      await waitFor(async () => (await flowsExported('failed')) >= failedBefore + wave, 15_000, `failed export ${wave}`);
    }
    assert.equal(logLines('failed: flows that cannot be sent are dropped'), 1, gw.logs());
    assert.ok((collector.answered.get(503) ?? 0) >= 2);

    collector.answerWith(200);
    assert.equal((await request(gw.httpPort, { host: 'web.example.com', path: '/api/accepted' })).status, 200);
    await recordFor('/api/accepted');
    await waitFor(() => logLines('/v1/logs works again') === 1, 5000, 'the recovery logged');
    assert.equal(collector.records.some((r) => String(r.attributes['url.path']).startsWith('/api/refused-')), false, 'refused flows are not sent twice');
  });
});

describe('--otlp-endpoint flag checks', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'run', '--manifests', '/nonexistent.yaml', ...args], { encoding: 'utf8' });

  test('not an http(s) URL: exit 2 with the fix', () => {
    for (const bad of ['collector:4318', 'grpc://collector:4317', 'http://']) {
      const r = run('--otlp-endpoint', bad);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--otlp-endpoint .*(not a URL|must be an http:\/\/ or https:\/\/ URL)/);
    }
  });

  test('credentials in the URL: exit 2, pointing at OTEL_EXPORTER_OTLP_HEADERS', () => {
    const r = run('--otlp-endpoint', 'https://user:secret@collector:4318');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /OTEL_EXPORTER_OTLP_HEADERS/);
    assert.doesNotMatch(r.stderr, /secret/);
  });

  test('with --flow-buffer 0 there are no flows to export: exit 2', () => {
    const r = run('--otlp-endpoint', 'http://127.0.0.1:4318', '--flow-buffer', '0');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--otlp-endpoint exports the flow log, which --flow-buffer 0 turns off/);
  });
});
