import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadManifests, manifestFiles, ManifestPathError } from '../../src/sources/files/load.js';
import { parseManifestText } from '../../src/sources/files/parse.js';
import { INGRESS, SERVICE, tempDir } from './fixtures.js';

const brief = (os: { kind: string; namespace: string; name: string; origin?: { file: string; line: number } }[]): string[] =>
  os.map((o) => `${o.kind} ${o.namespace}/${o.name} @${o.origin ? `${o.origin.file}:${o.origin.line}` : '-'}`);

describe('parseManifestText', () => {
  it('reads multi-document YAML with the line of each document\'s first content line', () => {
    const text = [
      '# leading comment', // 1
      'apiVersion: v1', // 2
      'kind: Service', // 3
      'metadata: {name: web}', // 4
      '---', // 5
      '', // 6
      '# comment before the object', // 7
      'kind: ConfigMap', // 8
      'apiVersion: v1', // 9
      'metadata:', // 10
      '  name: gatehouse', // 11
      '  namespace: edge', // 12
      'data: {a: "1"}', // 13
      '---', // 14
      '---', // 15 (an empty document)
      'apiVersion: networking.k8s.io/v1', // 16
      'kind: IngressClass', // 17
      'metadata: {name: gatehouse, namespace: ignored}', // 18
    ].join('\n');
    const r = parseManifestText(text, 'm/a.yaml');
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(brief(r.objects), ['Service default/web @m/a.yaml:2', 'ConfigMap edge/gatehouse @m/a.yaml:8', 'IngressClass /gatehouse @m/a.yaml:16']);
    const cm = r.objects[1]!;
    assert.equal(cm.apiVersion, 'v1');
    assert.deepEqual(cm.raw['data'], { a: '1' });
    assert.deepEqual(cm.labels, {});
  });

  it('reads the items of a kind: List, each with its own line', () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: one
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: skipped}
  -   apiVersion: v1
      kind: Service
      metadata: {name: two, namespace: ns2}
`;
    const r = parseManifestText(text, 'list.yaml');
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(brief(r.objects), ['Service default/one @list.yaml:4', 'Service ns2/two @list.yaml:11']);
  });

  it('rejects one document with a syntax error and still reads the two around it', () => {
    const text = `${SERVICE('first')}---
apiVersion: v1
kind: Service
metadata:
  name: broken
spec:
  ports: [80, 443
  selector: {app: x}
---
${SERVICE('third')}`;
    const r = parseManifestText(text, 'f.yaml');
    assert.deepEqual(r.objects.map((o) => o.name), ['first', 'third']);
    assert.equal(r.diagnostics.length, 1);
    const d = r.diagnostics[0]!;
    assert.equal(d.severity, 'error');
    assert.match(d.message, /^YAML syntax error: .*indentation/);
    assert.equal(d.object.origin?.file, 'f.yaml');
    // The error is reported in the broken document (lines 8-15), at or near the bad line (14-15).
    assert.ok(d.object.origin!.line >= 14 && d.object.origin!.line <= 15, `line ${d.object.origin!.line}`);
    // What could be read of the broken document names it.
    assert.deepEqual([d.object.kind, d.object.namespace, d.object.name], ['Service', 'default', 'broken']);
    // The third document starts after the second '---' (line 16).
    assert.equal(r.objects[1]!.origin?.line, 17);
  });

  it('rejects duplicate keys, non-mappings and objects without kind, with their lines', () => {
    const text = [
      'apiVersion: v1', // 1
      'kind: Service', // 2
      'metadata: {name: a}', // 3
      'kind: Service', // 4: duplicate key
      '---', // 5
      '- just', // 6
      '- a list', // 7
      '---', // 8
      'plain text', // 9
      '---', // 10
      'apiVersion: v1', // 11
      'metadata: {name: nokind}', // 12
    ].join('\n');
    const r = parseManifestText(text, 'x.yaml');
    assert.deepEqual(r.objects, []);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.severity, d.object.origin?.line, d.object.kind, d.field]),
      [
        ['error', 4, 'Service', ''],
        ['error', 6, '', ''],
        ['error', 9, '', ''],
        ['error', 11, '', 'kind'],
      ],
    );
    assert.match(r.diagnostics[0]!.message, /unique.*Remove or rename one of the two keys/);
    assert.match(r.diagnostics[1]!.message, /is a list, not a Kubernetes object/);
    assert.match(r.diagnostics[2]!.message, /string "plain text", not a Kubernetes object/);
    assert.match(r.diagnostics[3]!.message, /no kind: add one/);
    assert.equal(r.diagnostics[3]!.object.name, 'nokind');
  });

  it('skips kinds it does not read and non-TLS Secrets without a word, warns on a known kind with another apiVersion', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
---
apiVersion: v1
kind: Secret
type: Opaque
metadata: {name: opaque}
---
apiVersion: v1
kind: Secret
metadata: {name: untyped}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {name: tls}
data: {tls.crt: "", tls.key: ""}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old}
`;
    const r = parseManifestText(text, 's.yaml');
    assert.deepEqual(brief(r.objects), ['Secret default/tls @s.yaml:14']);
    assert.equal(r.diagnostics.length, 1);
    const w = r.diagnostics[0]!;
    assert.deepEqual([w.severity, w.object.kind, w.object.name, w.field, w.object.origin?.line], ['warning', 'Ingress', 'old', 'apiVersion', 20]);
    assert.match(w.message, /networking\.k8s\.io\/v1/);
  });

  it('rejects missing or invalid names, namespaces, labels and annotations at their lines', () => {
    const text = [
      'apiVersion: v1', // 1
      'kind: Service', // 2
      'metadata:', // 3
      '  namespace: x', // 4
      '---', // 5
      'apiVersion: v1', // 6
      'kind: Service', // 7
      'metadata:', // 8
      '  name: My_Web', // 9
      '---', // 10
      'apiVersion: v1', // 11
      'kind: ConfigMap', // 12
      'metadata:', // 13
      '  name: 42', // 14
      '---', // 15
      'apiVersion: v1', // 16
      'kind: ConfigMap', // 17
      'metadata:', // 18
      '  name: ok', // 19
      '  namespace: Bad.NS', // 20
      '---', // 21
      'apiVersion: networking.k8s.io/v1', // 22
      'kind: Ingress', // 23
      'metadata:', // 24
      '  name: web', // 25
      '  annotations:', // 26
      '    gatehouse.io/ok: "yes"', // 27
      '    gatehouse.io/timeout: 30', // 28
      '---', // 29
      'apiVersion: v1', // 30
      'kind: Service', // 31
      'metadata:', // 32
      '  name: svc.with.dots', // 33
    ].join('\n');
    const r = parseManifestText(text, 'n.yaml');
    assert.deepEqual(r.objects, []);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.object.origin?.line, d.object.kind, d.object.namespace, d.object.name, d.field]),
      [
        [3, 'Service', 'x', '', 'metadata.name'],
        [9, 'Service', 'default', 'My_Web', 'metadata.name'],
        [14, 'ConfigMap', 'default', '', 'metadata.name'],
        [20, 'ConfigMap', 'Bad.NS', 'ok', 'metadata.namespace'],
        [28, 'Ingress', 'default', 'web', 'metadata.annotations["gatehouse.io/timeout"]'],
        [33, 'Service', 'default', 'svc.with.dots', 'metadata.name'],
      ],
    );
    assert.ok(r.diagnostics.every((d) => d.severity === 'error'));
    const [noName, badName, numName, badNs, badAnn, dots] = r.diagnostics.map((d) => d.message);
    assert.match(noName!, /has no name: add "name: <name>" under metadata/);
    assert.match(badName!, /not a valid Service name.*for example "my-web"/);
    assert.match(numName!, /must be a string.*quote it/);
    assert.match(badNs!, /not a valid namespace.*for example "bad-ns"/);
    assert.match(badAnn!, /must be a string, not the number 30: quote it \(gatehouse\.io\/timeout: "30"\)/);
    assert.match(dots!, /starting with a letter/);
  });
});

describe('loadManifests', () => {
  it('reads a directory\'s .yaml/.yml files sorted, not hidden files, other extensions or subdirectories', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'b.yml'), SERVICE('from-b'));
    writeFileSync(join(dir, 'a.yaml'), SERVICE('from-a'));
    writeFileSync(join(dir, 'C.YAML'), SERVICE('from-c'));
    writeFileSync(join(dir, 'notes.txt'), SERVICE('from-txt'));
    writeFileSync(join(dir, 'x.json'), '{}');
    writeFileSync(join(dir, '.hidden.yaml'), SERVICE('from-hidden'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'd.yaml'), SERVICE('from-sub'));
    mkdirSync(join(dir, 'dir.yaml'));
    symlinkSync(join(dir, 'sub', 'd.yaml'), join(dir, 'link.yaml'));
    symlinkSync(join(dir, 'missing-target.yaml'), join(dir, 'dangling.yaml'));
    const r = await loadManifests([dir]);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.objects.map((o) => o.name), ['from-c', 'from-a', 'from-b', 'from-sub']);
    assert.deepEqual(r.files, [join(dir, 'C.YAML'), join(dir, 'a.yaml'), join(dir, 'b.yml'), join(dir, 'link.yaml')]);
    assert.equal(r.objects[1]!.origin?.file, join(dir, 'a.yaml'));
  });

  it('reads a file named directly whatever its extension, each file once, and keeps the path as given', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'one.txt'), SERVICE('one'));
    writeFileSync(join(dir, 'two.yaml'), SERVICE('two'));
    const given = join(dir, '.', 'one.txt');
    const r = await loadManifests([given, dir, join(dir, 'two.yaml')]);
    assert.deepEqual(r.objects.map((o) => `${o.name}@${o.origin?.file}`), [`one@${given}`, `two@${join(dir, 'two.yaml')}`]);
  });

  it('rejects the second of two objects with the same kind, namespace and name, across files', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.yaml'), INGRESS('web'));
    writeFileSync(join(dir, 'b.yaml'), `${SERVICE('web')}---\n${INGRESS('web', 'other')}---\n${INGRESS('web')}`);
    const r = await loadManifests([dir]);
    assert.deepEqual(r.objects.map((o) => `${o.kind}/${o.namespace}/${o.name}@${o.origin?.line}`), [
      'Ingress/default/web@1',
      'Service/default/web@1',
      'Ingress/other/web@9',
    ]);
    assert.equal(r.objects[0]!.origin?.file, join(dir, 'a.yaml'));
    assert.equal(r.diagnostics.length, 1);
    const d = r.diagnostics[0]!;
    assert.deepEqual([d.severity, d.object.kind, d.object.namespace, d.object.name, d.field], ['error', 'Ingress', 'default', 'web', 'metadata.name']);
    // At the second one's name: b.yaml lines 1-7 Service, 8 '---', 9-26 Ingress other, 27 '---', 28.. Ingress; name on line 31.
    assert.deepEqual(d.object.origin, { file: join(dir, 'b.yaml'), line: 31 });
    assert.match(d.message, new RegExp(`already defined at ${join(dir, 'a.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1`));
  });

  it('locates a field of a loaded object at its line', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'web.yaml');
    writeFileSync(file, `${SERVICE('svc')}---\n${INGRESS('web')}`);
    const r = await loadManifests([file]);
    const web = { kind: 'Ingress', namespace: 'default', name: 'web' };
    // The Ingress starts on line 9 (after 7 Service lines and '---').
    assert.deepEqual(r.locate(web, ''), { file, line: 9 });
    assert.deepEqual(r.locate(web, 'spec.rules[0].host'), { file, line: 17 });
    assert.deepEqual(r.locate(web, 'spec.rules[0].http.paths[0].pathType'), { file, line: 21 });
    assert.deepEqual(r.locate(web, 'spec.rules[0].http.paths[0].backend.service.port.number'), { file, line: 26 });
    // A field that is not written: the deepest part that is.
    assert.deepEqual(r.locate(web, 'spec.tls[0].secretName'), { file, line: 14 });
    assert.deepEqual(r.locate(web, 'spec.rules[3].host'), { file, line: 16 });
    assert.equal(r.locate({ kind: 'Ingress', namespace: 'default', name: 'nope' }, 'spec'), undefined);
  });

  it('locates annotations written with dots in their keys', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'a.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  annotations:\n    a: "1"\n    gatehouse.io/balance: x\n');
    const r = await loadManifests([file]);
    const s = { kind: 'Service', namespace: 'default', name: 's' };
    assert.equal(r.locate(s, 'metadata.annotations["gatehouse.io/balance"]')?.line, 7);
    assert.equal(r.locate(s, 'metadata.annotations.gatehouse.io/balance')?.line, 7);
    assert.equal(r.locate(s, "metadata.annotations['a']")?.line, 6);
  });

  it('throws a clear error for a path that does not exist', async (t) => {
    const dir = tempDir(t);
    const missing = join(dir, 'nope');
    await assert.rejects(loadManifests([dir, missing]), (e: unknown) => {
      assert.ok(e instanceof ManifestPathError);
      assert.equal(e.message, `manifest path ${JSON.stringify(missing)} does not exist: give a YAML file or a directory of them`);
      return true;
    });
    await assert.rejects(manifestFiles([missing]), ManifestPathError);
  });
});
