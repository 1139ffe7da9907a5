import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { runCheck, type CheckReport } from '../../src/cli/check.js';

const ingress = (name: string, pathType: string): string => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
spec:
  ingressClassName: gatehouse
  rules:
    - host: ${name}.example.com
      http:
        paths:
          - path: /
            pathType: ${pathType}
            backend:
              service:
                name: web
                port:
                  number: 80
`;

const SERVICE_AND_ENDPOINTS = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
ports:
  - port: 8080
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: {ready: true}
`;

function fixture(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function check(argv: string[]): Promise<{ code: number; lines: string[]; errors: string[] }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const code = await runCheck(argv, (s) => lines.push(s), (s) => errors.push(s));
  return { code, lines, errors };
}

describe('gatehouse check', () => {
  it('prints the rejected Ingress with file:line and field, a summary, and exits 1', async (t) => {
    // bad.yaml: the Ingress "bad" has pathType on line 12.
    const dir = fixture(t, { 'good.yaml': ingress('good', 'Prefix'), 'bad.yaml': ingress('bad', 'Sometimes'), 'web.yaml': SERVICE_AND_ENDPOINTS });
    const { code, lines, errors } = await check(['--manifests', dir]);
    assert.equal(code, 1);
    assert.deepEqual(errors, []);
    const problems = lines.slice(0, -1);
    assert.equal(problems.length, 1, lines.join('\n'));
    assert.match(problems[0]!, new RegExp(`^${escape(join(dir, 'bad.yaml'))}:12  Ingress default/bad  spec\\.rules\\[0\\]\\.http\\.paths\\[0\\]\\.pathType: error: .*Sometimes`));
    assert.ok(!lines.some((l) => l.includes('default/good')));
    assert.equal(lines.at(-1), '4 objects, 1 error, 0 warnings');
  });

  it('exits 0 on clean manifests, with paths given as arguments', async (t) => {
    const dir = fixture(t, { 'good.yaml': ingress('good', 'Exact'), 'web.yaml': SERVICE_AND_ENDPOINTS });
    const { code, lines } = await check([join(dir, 'good.yaml'), join(dir, 'web.yaml')]);
    assert.equal(code, 0, lines.join('\n'));
    assert.match(lines.at(-1)!, /^3 objects, 0 errors, \d+ warnings?$/);
  });

  it('reports load errors beside translate errors, in file and line order', async (t) => {
    const dir = fixture(t, {
      'a.yaml': `${ingress('bad', 'Sometimes')}---\nkind: Service\napiVersion: v1\nmetadata:\n  name: Bad_Name\n`,
      'b.yaml': 'key: [unclosed\n',
      'web.yaml': SERVICE_AND_ENDPOINTS,
    });
    const { code, lines } = await check(['--manifests', join(dir, 'b.yaml'), '--manifests', join(dir, 'a.yaml'), join(dir, 'web.yaml')]);
    assert.equal(code, 1);
    const where = lines.slice(0, -1).map((l) => l.split('  ')[0]);
    assert.deepEqual(where, [`${join(dir, 'a.yaml')}:12`, `${join(dir, 'a.yaml')}:22`, `${join(dir, 'b.yaml')}:2`]);
    assert.match(lines[1]!, /:22  Service default\/Bad_Name  metadata\.name: error: "Bad_Name" is not a valid Service name/);
    assert.match(lines[2]!, /:2  -  error: YAML syntax error: /);
    assert.equal(lines.at(-1), '3 objects, 3 errors, 0 warnings');
  });

  it('-o json prints one document with the diagnostics and the summary', async (t) => {
    const dir = fixture(t, { 'good.yaml': ingress('good', 'Prefix'), 'bad.yaml': ingress('bad', 'Sometimes'), 'web.yaml': SERVICE_AND_ENDPOINTS });
    const { code, lines } = await check(['-o', 'json', '--manifests', dir, '--ingress-class', 'gatehouse']);
    assert.equal(code, 1);
    assert.equal(lines.length, 1);
    const report = JSON.parse(lines[0]!) as CheckReport;
    assert.deepEqual(report.summary, { objects: 4, errors: 1, warnings: 0 });
    assert.equal(report.diagnostics.length, 1);
    const d = report.diagnostics[0]!;
    assert.deepEqual(
      [d.severity, d.object.kind, d.object.namespace, d.object.name, d.field, d.object.origin],
      ['error', 'Ingress', 'default', 'bad', 'spec.rules[0].http.paths[0].pathType', { file: join(dir, 'bad.yaml'), line: 12 }],
    );
  });

  it('ignores Ingresses of another class when told which class it serves', async (t) => {
    const dir = fixture(t, { 'bad.yaml': ingress('bad', 'Sometimes'), 'web.yaml': SERVICE_AND_ENDPOINTS });
    const { code, lines } = await check(['--ingress-class', 'other', dir]);
    assert.equal(code, 0, lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes(': error: ')));
  });

  it('exits 2 with a message for usage mistakes and missing paths', async (t) => {
    const dir = fixture(t, {});
    const cases: [string[], RegExp][] = [
      [[], /no manifests given/],
      [['--manifest', dir], /unknown flag --manifest \(did you mean --manifests\?\)/],
      [['-o', 'yaml', dir], /--output must be one of text, json; got "yaml"/],
      [['--manifests'], /--manifests needs a value/],
      [[join(dir, 'missing')], /manifest path ".*missing" does not exist/],
    ];
    for (const [argv, message] of cases) {
      const { code, lines, errors } = await check(argv);
      assert.equal(code, 2, argv.join(' '));
      assert.deepEqual(lines, [], argv.join(' '));
      assert.match(errors.join('\n'), message);
    }
  });

  it('--help prints the flags and exits 0', async () => {
    const { code, lines } = await check(['--help']);
    assert.equal(code, 0);
    assert.match(lines.join('\n'), /^Usage: gatehouse check/);
    assert.match(lines.join('\n'), /-o, --output text\|json +Output format \(default: text\)/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
