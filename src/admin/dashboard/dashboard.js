// The Gatehouse dashboard: reads /status every few seconds and follows /flows, both on this origin.
// Every value from the gateway is set as text (never as HTML): hosts, paths and SNI come from clients.
'use strict';

const STATUS_EVERY_MS = 5000;
const MAX_FLOW_ROWS = 500;
// The filters of `gatehouse observe` and /flows (src/observe/filter.ts), with a hint for each.
const FILTERS = [
  ['namespace', 'shop'], ['ingress', 'shop/web'], ['service', 'shop/web-svc'], ['host', 'web.example.com'],
  ['verdict', 'DENIED,ERROR'], ['http-status', '5+'], ['http-method', 'POST'], ['http-path', '^/api/'],
  ['from-ip', '10.0.0.0/8'], ['sni', '*.example.com'],
];

const $ = (selector, root = document) => root.querySelector(selector);

/** An element with text or children; `cls` sets its class. */
function el(tag, content, cls) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of [].concat(content ?? [])) e.append(c instanceof Node ? c : String(c));
  return e;
}

const badge = (text, cls) => el('span', text, `badge ${cls}`);
const row = (cells) => el('tr', cells.map((c) => el('td', c)));
const ref = (r) => (r ? `${r.namespace}/${r.name}` : '');
const hostPort = (address, port) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

/** Replaces a section's rows; shows its "empty" line when there are none. */
function fill(sectionId, rows) {
  const section = document.getElementById(sectionId);
  $('tbody', section).replaceChildren(...rows);
  const empty = $('.empty', section);
  if (empty) empty.hidden = rows.length > 0;
  const count = document.getElementById(`${sectionId}-count`);
  if (count) count.textContent = `(${rows.length})`;
}

// ---- status -------------------------------------------------------------------------------------

function renderStatus(s) {
  const state = $('#state');
  state.textContent = s.ready ? 'ready' : 'not ready';
  state.className = `badge ${s.ready ? 'ok' : 'bad'}`;
  $('#summary').textContent = `generation ${s.generation} · HAProxy worker ${s.haproxy.workerPid ?? '–'} · ${s.haproxy.reloads} reloads · ${s.haproxy.restarts} restarts`;
  $('#updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  const problem = $('#problem');
  problem.hidden = !s.lastError;
  problem.textContent = s.lastError ? `Last sync failed: ${s.lastError}` : '';

  const backends = new Map(s.backends.map((b) => [b.name, b]));
  const routes = [...s.routes].sort((a, b) => a.host.localeCompare(b.host) || b.path.length - a.path.length);
  fill('routes', routes.map((r) => {
    const b = backends.get(r.backend);
    const path = r.pathType === 'Exact' ? `= ${r.path}` : r.path;
    const endpoints = !b ? [badge('no backend', 'bad')]
      : b.endpoints.length === 0 ? [badge('no endpoints', 'bad'), b.problem ? ` ${b.problem}` : '']
      : b.endpoints.map((e) => el('span', [badge(e.state, e.state === 'ready' ? 'ok' : 'warn'), ` ${hostPort(e.address, e.port)}`], 'endpoint'));
    return row([
      r.host || el('span', 'any host', 'muted'),
      [path, el('span', ` ${r.pathType}`, 'muted'), ...(r.redirectToHttps ? [' ', badge('→ https', 'info')] : [])],
      r.ingress,
      b ? `${b.service}:${b.port}` : r.backend,
      endpoints,
    ]);
  }));

  fill('certificates', s.certificates.map((c) => {
    const days = c.daysToExpiry;
    const cls = days < 0 ? 'bad' : days < 14 ? 'warn' : 'ok';
    return row([c.secret, c.hosts.join(', '), c.notAfter, badge(days < 0 ? `expired ${-days} days ago` : `${days} days`, cls)]);
  }));

  const c = s.crypto;
  const mode = $('#crypto-mode');
  mode.replaceChildren(badge(c.mode, c.mode === 'offload' ? 'ok' : c.mode === 'refused' ? 'bad' : 'info'));
  $('#crypto-setting').textContent = c.setting;
  $('#crypto-providers').textContent = c.providers.join(', ') || 'none';
  $('#crypto-devices').textContent = c.devices.join(', ') || 'none found';
  $('#crypto-reason').textContent = c.reason;

  fill('rejected', s.rejected.flatMap((o) => o.diagnostics.map((d) => row([`${o.kind} ${o.namespace}/${o.name}`, d.field, d.message]))));
}

async function refreshStatus() {
  try {
    const res = await fetch('/status', { cache: 'no-store' });
    if (!res.ok) throw new Error(`/status answered ${res.status}`);
    renderStatus(await res.json());
  } catch (err) {
    const state = $('#state');
    state.textContent = 'gateway unreachable';
    state.className = 'badge bad';
    $('#updated').textContent = String(err.message ?? err);
  }
}

// ---- flows --------------------------------------------------------------------------------------

function flowRow(f) {
  const verdictClass = { FORWARDED: 'ok', REDIRECTED: 'info', DENIED: 'warn', ERROR: 'bad' }[f.verdict] ?? '';
  const source = [hostPort(f.source.ip, f.source.port), ...(f.source.pod ? [el('br'), `${f.source.namespace}/${f.source.pod}`] : [])];
  const request = f.http ? `${f.http.method} ${f.host ?? ''}${f.http.path}` : (f.tls?.sni ?? '');
  const target = [f.service ? `${ref(f.service)}:${f.service.port}` : (f.ingress ? ref(f.ingress) : ''), ...(f.endpoint ? [' → ', hostPort(f.endpoint.address, f.endpoint.port)] : [])];
  const tls = f.tls ? `${f.tls.version}${f.tls.resumed ? ' resumed' : ''}${f.tls.offloaded ? ' offloaded' : ''}` : '';
  const tr = row([
    f.time.slice(11, 23),
    [badge(f.verdict, verdictClass), ...(f.reason ? [' ', f.reason] : [])],
    source,
    request,
    f.http ? String(f.http.status) : '',
    target,
    f.timings.totalMs ?? '',
    tls,
  ]);
  tr.dataset.verdict = f.verdict;
  if (f.detail) tr.title = f.detail;
  return tr;
}

const flows = { controller: null, paused: false, pending: [] };

function showFlows(list) {
  if (list.length === 0) return;
  const body = $('#flows tbody');
  body.prepend(...list.reverse().map(flowRow));
  while (body.rows.length > MAX_FLOW_ROWS) body.lastElementChild.remove();
  $('#flows .empty').hidden = true;
}

function readFilters() {
  const out = [];
  for (const [field] of FILTERS) {
    const text = document.getElementById(`f-${field}`).value.trim();
    if (text === '') continue;
    const values = field === 'http-path' ? [text] : text.split(',').map((v) => v.trim()).filter((v) => v !== '');
    out.push({ field, values, negate: document.getElementById(`n-${field}`).checked });
  }
  return out;
}

/** (Re)starts the stream: the last flows matching the filters, then new ones as they come. */
async function followFlows() {
  flows.controller?.abort();
  const controller = new AbortController();
  flows.controller = controller;
  const filters = readFilters();
  const query = new URLSearchParams({ follow: '1', last: '100', filters: JSON.stringify(filters) });
  const error = $('#filter-error');
  const state = $('#flows-state');
  $('#flows tbody').replaceChildren();
  $('#flows .empty').hidden = false;
  try {
    const res = await fetch(`/flows?${query}`, { signal: controller.signal, cache: 'no-store' });
    if (res.status === 404) {
      state.textContent = 'the flow log is off (gatehouse run --flow-buffer 0)';
      return;
    }
    if (!res.ok) {
      error.textContent = (await res.text()).trim();
      error.hidden = false;
      state.textContent = 'stopped';
      return;
    }
    error.hidden = true;
    state.textContent = filters.length ? `following, ${filters.length} filter${filters.length > 1 ? 's' : ''}` : 'following';
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const lines = (rest + value).split('\n');
      rest = lines.pop();
      const batch = lines.filter((l) => l !== '').map((l) => JSON.parse(l));
      if (!flows.paused) showFlows(batch);
      else flows.pending = flows.pending.concat(batch).slice(-MAX_FLOW_ROWS);
    }
    state.textContent = 'the gateway closed the stream';
  } catch (err) {
    if (controller.signal.aborted) return;
    state.textContent = `stream lost: ${err.message ?? err}`;
  }
}

function setUpFilters() {
  const fields = $('#filters .fields');
  for (const [field, hint] of FILTERS) {
    const input = el('input');
    Object.assign(input, { type: 'text', id: `f-${field}`, name: field, placeholder: hint });
    const not = el('input');
    Object.assign(not, { type: 'checkbox', id: `n-${field}` });
    fields.append(el('div', [el('label', [field, input]), el('label', [not, 'not'], 'not')], 'filter'));
  }
  $('#filters').addEventListener('submit', (e) => {
    e.preventDefault();
    followFlows();
  });
  $('#clear').addEventListener('click', () => {
    $('#filters').reset();
    followFlows();
  });
  $('#pause').addEventListener('click', (e) => {
    flows.paused = !flows.paused;
    e.target.textContent = flows.paused ? 'Resume' : 'Pause';
    if (!flows.paused) showFlows(flows.pending);
    flows.pending = [];
  });
}

setUpFilters();
refreshStatus();
setInterval(refreshStatus, STATUS_EVERY_MS);
followFlows();
