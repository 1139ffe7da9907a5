import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SeverityNumber } from '@opentelemetry/api';
import type { Flow } from '../../src/observe/flow.js';
import { flowLogRecord, otlpLogsUrl } from '../../src/observe/otlp.js';

const base: Flow = {
  time: '2026-12-02T21:00:51.623Z',
  id: '020f8c7d-5dde-4dda-ad64-51321be77d7a',
  verdict: 'FORWARDED',
  source: { ip: '10.0.3.7', port: 35780, namespace: 'tools', pod: 'client-7d9f' },
  ingress: { namespace: 'default', name: 'web' },
  host: 'web.example.com',
  rule: { pathType: 'Prefix', path: '/api' },
  service: { namespace: 'default', name: 'web', port: '80' },
  endpoint: { address: '10.0.1.5', port: 8080 },
  http: { method: 'GET', path: '/api/x', status: 200, bytesIn: 83, bytesOut: 217 },
  timings: { tlsHandshakeMs: 3, queueMs: 0, connectMs: 1, responseMs: 2, totalMs: 6 },
  tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', sni: 'web.example.com', resumed: false, offloaded: true },
  termination: '----',
};

describe('flowLogRecord', () => {
  test('a whole flow: every field as an attribute, with OpenTelemetry\'s names where it has them', () => {
    const r = flowLogRecord(base);
    assert.deepEqual(r.timestamp, new Date(base.time));
    assert.equal(r.severityNumber, SeverityNumber.INFO);
    assert.equal(r.eventName, 'gatehouse.flow');
    assert.match(String(r.body), /^Dec  2 21:00:51\.623 10\.0\.3\.7:35780 \(tools\/client-7d9f\) -> default\/web/);
    assert.deepEqual(r.attributes, {
      'gatehouse.flow.id': base.id,
      'gatehouse.flow.verdict': 'FORWARDED',
      'client.address': '10.0.3.7',
      'client.port': 35780,
      'gatehouse.source.namespace': 'tools',
      'gatehouse.source.pod': 'client-7d9f',
      'gatehouse.ingress.namespace': 'default',
      'gatehouse.ingress.name': 'web',
      'server.address': 'web.example.com',
      'gatehouse.rule.path_type': 'Prefix',
      'http.route': '/api',
      'gatehouse.service.namespace': 'default',
      'gatehouse.service.name': 'web',
      'gatehouse.service.port': '80',
      'gatehouse.endpoint.address': '10.0.1.5',
      'gatehouse.endpoint.port': 8080,
      'http.request.method': 'GET',
      'url.path': '/api/x',
      'http.response.status_code': 200,
      'http.request.size': 83,
      'http.response.size': 217,
      'gatehouse.timings.tls_handshake_ms': 3,
      'gatehouse.timings.queue_ms': 0,
      'gatehouse.timings.connect_ms': 1,
      'gatehouse.timings.response_ms': 2,
      'gatehouse.timings.total_ms': 6,
      'tls.protocol.version': '1.3',
      'tls.cipher': 'TLS_AES_256_GCM_SHA384',
      'tls.client.server_name': 'web.example.com',
      'tls.resumed': false,
      'gatehouse.tls.offloaded': true,
      'gatehouse.termination': '----',
    });
  });

  test('a failed handshake: only what the flow has, at ERROR', () => {
    const r = flowLogRecord({
      time: base.time, id: base.id, verdict: 'ERROR', reason: 'tls-handshake', detail: 'no shared cipher',
      source: { ip: '::1', port: 4000 },
      timings: { tlsHandshakeMs: null, queueMs: null, connectMs: null, responseMs: null, totalMs: 1 },
      tls: { version: '', cipher: '', sni: '', resumed: false, offloaded: false },
    });
    assert.equal(r.severityNumber, SeverityNumber.ERROR);
    assert.equal(r.severityText, 'ERROR');
    assert.deepEqual(Object.keys(r.attributes ?? {}).sort(), [
      'client.address', 'client.port', 'gatehouse.flow.detail', 'gatehouse.flow.id', 'gatehouse.flow.reason', 'gatehouse.flow.verdict',
      'gatehouse.timings.total_ms', 'gatehouse.tls.offloaded', 'tls.resumed',
    ]);
  });

  test('DENIED is a warning', () => {
    assert.equal(flowLogRecord({ ...base, verdict: 'DENIED', reason: 'rate-limit' }).severityText, 'WARN');
  });
});

describe('otlpLogsUrl', () => {
  test('a collector\'s base URL gets /v1/logs; a URL that ends with it is kept', () => {
    assert.equal(otlpLogsUrl('http://otel-collector:4318'), 'http://otel-collector:4318/v1/logs');
    assert.equal(otlpLogsUrl('http://otel-collector:4318/'), 'http://otel-collector:4318/v1/logs');
    assert.equal(otlpLogsUrl('https://otlp.example.com/tenant-a'), 'https://otlp.example.com/tenant-a/v1/logs');
    assert.equal(otlpLogsUrl('https://otlp.example.com/custom/v1/logs'), 'https://otlp.example.com/custom/v1/logs');
  });

  test('anything else is refused with the fix', () => {
    assert.throws(() => otlpLogsUrl('otel-collector:4318'), /must be an http:\/\/ or https:\/\/ URL/);
    assert.throws(() => otlpLogsUrl('not a url'), /is not a URL: give the collector's OTLP\/HTTP address/);
    assert.throws(() => otlpLogsUrl('http://a:b@collector'), /OTEL_EXPORTER_OTLP_HEADERS/);
  });
});
