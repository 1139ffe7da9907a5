/**
 * deploy/grafana/gatehouse-dashboard.json: the example Grafana dashboard. First its shape (a dashboard
 * Grafana can import: title, uid, panels with unique ids, every query on the `datasource` variable,
 * the namespace/ingress/service variables), then what it asks of the gateway: every metric and label
 * its queries name must be in the /metrics of a real gateway that served HTTP, HTTPS, an unrouted, an
 * unserved and a denied request and applied a certificate rotation through the Runtime API.
 *
 * The PromQL is read with regular expressions, enough for what the dashboard uses: selectors with
 * matchers, `by (…)`/`without (…)` in either position, and `label_values()`. Vector matching
 * (`on`, `ignoring`, `group_left/right`) is refused rather than half-read.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { makeCert } from '../helpers/certs.js';
import { request } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { ingress, service, tlsSecret, yamlOf } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'gatehouse-dashboard.json');

interface Target { expr?: unknown; refId?: unknown; datasource?: { type?: unknown; uid?: unknown } }
interface Panel { id?: unknown; type?: unknown; title?: unknown; gridPos?: { x: number; y: number; w: number; h: number }; datasource?: { type?: unknown; uid?: unknown }; targets?: Target[]; panels?: Panel[] }
interface Variable { name: string; type: string; query?: unknown; definition?: unknown; multi?: boolean; includeAll?: boolean; allValue?: string; datasource?: { uid?: unknown } }
interface Dashboard { title?: unknown; uid?: unknown; schemaVersion?: unknown; panels?: Panel[]; templating?: { list?: Variable[] } }

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

/** Every panel, those inside collapsed rows too. */
function allPanels(d: Dashboard): Panel[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** The PromQL of a query variable: a string, or `{ query }` as Grafana 10+ saves it. */
function variableQuery(v: Variable): string {
  if (typeof v.query === 'string') return v.query;
  if (v.query && typeof v.query === 'object' && typeof (v.query as { query?: unknown }).query === 'string') return (v.query as { query: string }).query;
  throw new Error(`template variable "${v.name}": no query`);
}

/** One query to check, and where it is, for the failure messages. */
interface Query { where: string; expr: string }

function queries(d: Dashboard): Query[] {
  const out: Query[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? []) out.push({ where: `panel "${String(p.title)}" (id ${String(p.id)}), target ${String(t.refId)}`, expr: String(t.expr) });
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type === 'query') out.push({ where: `template variable "${v.name}"`, expr: variableQuery(v) });
  }
  return out;
}

/** A metric named in a query, with the labels the query uses on it. */
interface Use { metric: string; labels: Set<string> }

/** `"…"` and `'…'` blanked to the same length: label values cannot look like names, positions stay. */
function maskStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, (s) => s[0] + ' '.repeat(s.length - 2) + s[0]);
}

/** The index just past the parenthesis that closes the one at `open`. */
function closeParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i + 1;
  }
  throw new Error(`unbalanced parentheses in ${s}`);
}

/** The index of the parenthesis that opens the one closing at `close`. */
function openParen(s: string, close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (s[i] === ')') depth++;
    else if (s[i] === '(' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parentheses in ${s}`);
}

const SELECTOR = /\b(gatehouse_[a-z0-9_]+)\b\s*(\{[^}]*\})?/g;
const MATCHER = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"/g;
const GROUPING = /\b(by|without)\s*\(([^)]*)\)/g;
const LABEL_VALUES = /\blabel_values\s*\(\s*(?:(gatehouse_[a-z0-9_]+)\s*(?:\{[^}]*\})?\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g;

/** The metrics of one PromQL expression (or label_values() query) and the labels used on each. */
function uses(expr: string): Use[] {
  const s = maskStrings(expr);
  const vectorMatching = /\b(on|ignoring|group_left|group_right)\s*\(/.exec(s);
  if (vectorMatching) throw new Error(`"${vectorMatching[1]}(…)" is not read by this test; extend it before the dashboard uses it: ${expr}`);
  const found: Array<Use & { at: number }> = [];
  for (const m of s.matchAll(SELECTOR)) {
    const labels = new Set<string>();
    for (const l of (m[2] ?? '').matchAll(MATCHER)) labels.add(l[1]!);
    found.push({ metric: m[1]!, labels, at: m.index! });
  }
  for (const g of s.matchAll(GROUPING)) {
    const labels = g[2]!.split(',').map((l) => l.trim()).filter(Boolean);
    // `sum by (l) (expr)`: the aggregated expression follows; `sum (expr) by (l)`: it comes before.
    const end = g.index! + g[0].length;
    const next = s.slice(end).search(/\S/);
    let from: number;
    let to: number;
    if (next >= 0 && s[end + next] === '(') {
      from = end + next;
      to = closeParen(s, from);
    } else {
      const before = s.slice(0, g.index!).trimEnd();
      if (!before.endsWith(')')) throw new Error(`cannot tell what "${g[0]}" aggregates in ${expr}`);
      to = before.length;
      from = openParen(s, to - 1);
    }
    const inside = found.filter((u) => u.at >= from && u.at < to);
    if (inside.length === 0) throw new Error(`"${g[0]}" aggregates no gatehouse_ metric in ${expr}`);
    for (const u of inside) for (const l of labels) u.labels.add(l);
  }
  for (const lv of s.matchAll(LABEL_VALUES)) {
    if (!lv[1]) throw new Error(`label_values(${lv[2]}) without a metric reads every series; name the metric: ${expr}`);
    const u = found.find((f) => f.at > lv.index! && f.metric === lv[1]);
    u!.labels.add(lv[2]!);
  }
  return found.map(({ metric, labels }) => ({ metric, labels }));
}

/** The metric families of a Prometheus text exposition, with the series names and labels each has. */
interface Exposition {
  types: Map<string, string>;
  /** Label names seen on the samples of each series name (`x_bucket`, `x_sum`, … separately). */
  labels: Map<string, Set<string>>;
}

function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    const names = labels.get(sample[1]!) ?? new Set<string>();
    for (const l of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) names.add(l[1]!);
    labels.set(sample[1]!, names);
  }
  return { types, labels };
}

/**
 * What is wrong with `use` in `exposition`, or null. A series name must be one Prometheus stores: a
 * family's own name, or for a histogram (summary) its `_bucket` (histogram only), `_sum` and `_count`.
 */
function problem(where: string, use: Use, e: Exposition): string | null {
  const base = use.metric.replace(/_(bucket|sum|count)$/, '');
  const suffix = use.metric.slice(base.length);
  const family = e.types.get(use.metric) !== undefined && e.types.get(use.metric) !== 'histogram' && e.types.get(use.metric) !== 'summary'
    ? use.metric
    : suffix && (e.types.get(base) === 'histogram' || (e.types.get(base) === 'summary' && suffix !== '_bucket'))
      ? base
      : undefined;
  if (!family) {
    const hint = e.types.has(use.metric) ? ` (a ${e.types.get(use.metric)}: use its _bucket, _sum or _count)` : '';
    return `${where}: metric ${use.metric} is not in the gateway's /metrics${hint}`;
  }
  const have = e.labels.get(use.metric);
  if (!have) return `${where}: metric ${use.metric} has no series in /metrics, so its labels cannot be checked (make the test produce one)`;
  const missing = [...use.labels].filter((l) => !have.has(l));
  if (missing.length) return `${where}: metric ${use.metric} has no label ${missing.map((l) => `"${l}"`).join(', ')} (its labels: ${[...have].join(', ') || 'none'})`;
  return null;
}

describe('the example Grafana dashboard (deploy/grafana)', () => {
  test('is a dashboard Grafana can import: title, uid, unique panel ids, every query on ${datasource}', () => {
    assert.equal(typeof dashboard.title, 'string');
    assert.ok((dashboard.title as string).length > 0);
    assert.match(String(dashboard.uid), /^[a-zA-Z0-9_-]{1,40}$/, 'a uid Grafana accepts (at most 40 characters)');
    assert.equal(typeof dashboard.schemaVersion, 'number');
    assert.ok((dashboard.schemaVersion as number) >= 36, `schemaVersion ${String(dashboard.schemaVersion)}`);

    const panels = allPanels(dashboard);
    assert.ok(panels.length > 0);
    const ids = panels.map((p) => p.id);
    assert.ok(ids.every((id) => Number.isInteger(id)), `panel ids: ${ids.join(', ')}`);
    assert.equal(new Set(ids).size, ids.length, `panel ids are unique: ${ids.join(', ')}`);
    for (const p of panels) {
      const name = `panel "${String(p.title)}" (id ${String(p.id)})`;
      assert.ok(typeof p.title === 'string' && p.title.length > 0, `${name}: a title`);
      assert.ok(p.gridPos && p.gridPos.w >= 1 && p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24 && p.gridPos.h >= 1, `${name}: a gridPos within 24 columns`);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${datasource}', `${name}: the panel's datasource is the variable`);
      assert.ok(p.targets && p.targets.length > 0, `${name}: has targets`);
      const refIds = p.targets.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${name}: unique refIds`);
      for (const t of p.targets) {
        assert.ok(typeof t.expr === 'string' && t.expr.trim().length > 0, `${name}, target ${String(t.refId)}: an expr`);
        assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' }, `${name}, target ${String(t.refId)}: datasource \${datasource}`);
      }
    }

    const vars = new Map((dashboard.templating?.list ?? []).map((v) => [v.name, v]));
    const ds = vars.get('datasource');
    assert.equal(ds?.type, 'datasource');
    assert.equal(ds?.query, 'prometheus');
    for (const name of ['namespace', 'ingress', 'service']) {
      const v = vars.get(name);
      assert.ok(v, `template variable ${name}`);
      assert.equal(v.type, 'query', name);
      assert.equal(v.datasource?.uid, '${datasource}', name);
      assert.equal(v.multi, true, `${name}: multi`);
      assert.equal(v.includeAll, true, `${name}: includeAll`);
      // "All" must match the empty label of unrouted requests, which label_values never lists
      assert.equal(v.allValue, '.*', `${name}: allValue`);
      assert.match(variableQuery(v), new RegExp(`^label_values\\(gatehouse_http_requests_total(\\{[^}]*\\})?, ${name}\\)$`), name);
    }
  });

  test('every query on a per-route metric is filtered by $namespace, $ingress and $service', () => {
    for (const p of allPanels(dashboard)) {
      for (const t of p.targets ?? []) {
        for (const m of String(t.expr).matchAll(/\b(gatehouse_http_[a-z0-9_]+)\s*(\{[^}]*\})?/g)) {
          for (const name of ['namespace', 'ingress', 'service']) {
            assert.ok((m[2] ?? '').includes(`${name}=~"$${name}"`), `panel "${String(p.title)}", target ${String(t.refId)}: ${m[1]} without ${name}=~"$${name}"`);
          }
        }
      }
    }
  });

  test('the query reader finds metrics and labels in each form the dashboard uses', () => {
    const read = (expr: string) => uses(expr).map((u) => `${u.metric}:${[...u.labels].sort().join(',')}`);
    assert.deepEqual(read('histogram_quantile(0.9, sum by (le) (rate(gatehouse_a_bucket{x=~"$x", y!="gatehouse_not_a_metric"}[5m])))'), ['gatehouse_a_bucket:le,x,y']);
    assert.deepEqual(read('sum(rate(gatehouse_a[1m])) by (p) / sum(rate(gatehouse_b[1m]))'), ['gatehouse_a:p', 'gatehouse_b:']);
    assert.deepEqual(read('max without (q) (gatehouse_a) - time()'), ['gatehouse_a:q']);
    assert.deepEqual(read('label_values(gatehouse_a{n=~"$n"}, i)'), ['gatehouse_a:i,n']);
    assert.throws(() => uses('gatehouse_a / on (x) gatehouse_b'), /not read by this test/);
  });

  describe('against a real gateway', () => {
    let web: EchoBackend;
    let gw: RunningGateway;
    const manifests = (cert: { cert: string; key: string }): string =>
      yamlOf(
        ...service('web', [{ port: web.port }]),
        ...service('empty', []),
        tlsSecret('web-tls', cert.cert, cert.key),
        ingress('web', {
          tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }],
          annotations: { 'gatehouse.io/ssl-redirect': 'false' },
          rules: [{ host: 'web.example.com', paths: [{ path: '/', service: 'web' }, { path: '/none', service: 'empty' }] }],
        }),
        ingress('closed', { annotations: { 'gatehouse.io/deny-source-ranges': '127.0.0.0/8' }, rules: [{ host: 'closed.example.com', paths: [{ path: '/', service: 'web' }] }] }),
      );

    before(async () => {
      web = await startEchoBackend('web');
      gw = await startGateway(manifests(makeCert(['web.example.com'])));
      // a certificate rotation: applied through the Runtime API, so gatehouse_runtime_updates_total has series
      await gw.update(manifests(makeCert(['web.example.com'])));
      assert.equal((await request(gw.httpPort, { host: 'web.example.com', path: '/' })).status, 200);
      assert.equal((await request(gw.httpsPort, { host: 'web.example.com', path: '/', tls: { servername: 'web.example.com' } })).status, 200);
      assert.equal((await request(gw.httpPort, { host: 'nobody.example.com', path: '/' })).status, 404);
      assert.equal((await request(gw.httpPort, { host: 'web.example.com', path: '/none' })).status, 503);
      assert.equal((await request(gw.httpPort, { host: 'closed.example.com', path: '/' })).status, 403);
      // flows reach the metrics through the log socket: wait for the last ones of each kind
      await waitFor(async () => {
        const m = await gw.metrics();
        return [
          /^gatehouse_http_requests_total\{namespace="default",ingress="web",service="web",code_class="2xx",verdict="FORWARDED"\} 2$/m,
          /^gatehouse_http_requests_total\{[^}]*code_class="4xx",verdict="ERROR"\} 1$/m,
          /^gatehouse_http_requests_total\{[^}]*code_class="5xx",verdict="ERROR"\} 1$/m,
          /^gatehouse_denied_requests_total\{reason="source-range"\} 1$/m,
          /^gatehouse_tls_handshakes_total\{version="[^"]+",outcome="success"\} 1$/m,
          /^gatehouse_runtime_updates_total\{kind="cert"\} [1-9]/m,
        ].every((r) => r.test(m));
      }, 5000, 'the metrics of the requests sent and of the certificate rotation');
    });
    after(async () => {
      await gw?.stop();
      await web?.close();
    });

    test('every metric and label the dashboard uses is in the gateway\'s /metrics', async () => {
      const exposition = parseExposition(await gw.metrics());
      const problems: string[] = [];
      const metrics = new Set<string>();
      for (const q of queries(dashboard)) {
        const found = uses(q.expr);
        assert.ok(found.length > 0, `${q.where}: no gatehouse_ metric in ${q.expr}`);
        for (const u of found) {
          metrics.add(u.metric);
          const p = problem(q.where, u, exposition);
          if (p) problems.push(p);
        }
      }
      assert.deepEqual(problems, []);
      // the panels the task asks for are there: flows, TLS, denials and the gateway's health
      for (const m of [
        'gatehouse_http_requests_total', 'gatehouse_http_request_duration_seconds_bucket', 'gatehouse_http_request_bytes_total',
        'gatehouse_http_response_bytes_total', 'gatehouse_tls_handshakes_total', 'gatehouse_tls_offloaded_handshakes_total',
        'gatehouse_denied_requests_total', 'gatehouse_haproxy_reloads_total', 'gatehouse_haproxy_restarts_total',
        'gatehouse_rejected_objects', 'gatehouse_tls_certificate_expiry_timestamp_seconds', 'gatehouse_config_generation',
      ]) assert.ok(metrics.has(m), `the dashboard uses ${m}`);
    });

    test('the check fails, naming panel, metric and label, for a metric or label the gateway does not have', async () => {
      const exposition = parseExposition(await gw.metrics());
      const check = (expr: string) => uses(expr).map((u) => problem('panel "Made up" (id 99), target A', u, exposition)).filter(Boolean);
      assert.deepEqual(check('sum by (route) (rate(gatehouse_http_requests_total[5m]))'), [
        'panel "Made up" (id 99), target A: metric gatehouse_http_requests_total has no label "route" (its labels: namespace, ingress, service, code_class, verdict)',
      ]);
      assert.deepEqual(check('rate(gatehouse_tls_handshakes_total{sni="x"}[5m])'), [
        'panel "Made up" (id 99), target A: metric gatehouse_tls_handshakes_total has no label "sni" (its labels: version, outcome)',
      ]);
      assert.deepEqual(check('rate(gatehouse_http_requests_count[5m])'), ['panel "Made up" (id 99), target A: metric gatehouse_http_requests_count is not in the gateway\'s /metrics']);
      assert.deepEqual(check('gatehouse_http_request_duration_seconds'), [
        'panel "Made up" (id 99), target A: metric gatehouse_http_request_duration_seconds is not in the gateway\'s /metrics (a histogram: use its _bucket, _sum or _count)',
      ]);
      assert.deepEqual(check('sum by (le) (rate(gatehouse_http_request_duration_seconds_sum[5m]))'), [
        'panel "Made up" (id 99), target A: metric gatehouse_http_request_duration_seconds_sum has no label "le" (its labels: namespace, ingress, service)',
      ]);
      assert.deepEqual(check('sum by (le) (rate(gatehouse_http_request_duration_seconds_bucket[5m]))'), []);
    });
  });
});
