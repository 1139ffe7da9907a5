import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ParsedDocuments, splitDocuments } from '../../src/sources/files/documents.js';
import { loadManifests } from '../../src/sources/files/load.js';
import { lineAtPath, parseManifestText } from '../../src/sources/files/parse.js';
import { INGRESS, SERVICE, tempDir } from './fixtures.js';

/** What a parse gives, with the line of each object's metadata.name found through its node. */
function view(r: { objects: Array<{ kind: string; name: string }>; diagnostics: unknown[] }, locate: (o: never) => { node: import('yaml').Node; lines: import('../../src/sources/files/parse.js').Lines } | undefined) {
  return {
    objects: r.objects,
    diagnostics: r.diagnostics,
    nameLines: r.objects.map((o) => {
      const n = locate(o as never);
      return n ? lineAtPath(n.lines, n.node, ['metadata', 'name']).line : -1;
    }),
  };
}

function same(text: string, file = 'm.yaml'): void {
  const whole = parseManifestText(text, file);
  const byDocument = new ParsedDocuments().parse(text, file);
  assert.deepEqual(view(byDocument, (o) => byDocument.locate(o)), view(whole, (o) => whole.nodes.get(o)));
}

const SLICE = (name: string, address: string) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-1
  labels:
    kubernetes.io/service-name: ${name}
addressType: IPv4
ports:
- name: http
  port: 8080
endpoints:
- addresses: [${address}]
`;

describe('ParsedDocuments', () => {
  it('gives what parsing the whole text gives: objects, diagnostics and lines', () => {
    same(`# leading comment\n${SERVICE('a')}---\n\n# comment\n${INGRESS('web')}---\n---\n${SLICE('a', '10.0.0.1')}`);
    same(`---\n${SERVICE('first')}--- # a comment on the marker\n${SERVICE('second')}`);
    same(`apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: one}\n---\n${SERVICE('after')}`);
    // Problems that are not YAML errors: a bad name, a known kind with another apiVersion.
    same(`${SERVICE('Bad_Name')}---\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\n---\n${SERVICE('ok')}`);
    same(`${SERVICE('crlf')}---\r\n${SERVICE('two')}`.replace(/\n/g, '\r\n'));
    // A block scalar's indented "---" is content, not a marker.
    same(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gatehouse}\ndata:\n  text: |\n    a\n    ---\n    b\n---\n${SERVICE('s')}`);
  });

  it('parses a file with a YAML error, a directive or an end marker whole, as parseManifestText does', () => {
    assert.equal(splitDocuments(`%YAML 1.2\n---\n${SERVICE('a')}`), null);
    assert.equal(splitDocuments(`${SERVICE('a')}...\n---\n${SERVICE('b')}`), null);
    same(`%YAML 1.2\n---\n${SERVICE('a')}`);
    same(`${SERVICE('a')}...\n---\n${SERVICE('b')}`);
    same(`${SERVICE('first')}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: broken\nspec:\n  ports: [80, 443\n  selector: {app: x}\n---\n${SERVICE('third')}`);
    same(`${SERVICE('a')}kind: Service\n---\n${SERVICE('b')}`); // duplicate key
    const text = `${SERVICE('first')}---\nkey: "open\n---\n${SERVICE('second')}`; // a quote left open over a marker
    same(text);
  });

  it('splits before each marker line, counting lines', () => {
    assert.deepEqual(splitDocuments('a: 1\n---\nb: 2\n--- \nc: 3\n----\nd: 4'), [
      { text: 'a: 1\n', firstLine: 1 },
      { text: '---\nb: 2\n', firstLine: 2 },
      { text: '--- \nc: 3\n----\nd: 4', firstLine: 4 },
    ]);
    assert.deepEqual(splitDocuments('---\na: 1\n'), [{ text: '---\na: 1\n', firstLine: 1 }]);
    assert.deepEqual(splitDocuments(''), []);
  });

  it('gives the same objects for the documents that did not change, and new ones for those that did', () => {
    const docs = ['a', 'b', 'c'].flatMap((n) => [SERVICE(n), SLICE(n, '10.0.0.1')]);
    const parser = new ParsedDocuments();
    const first = parser.parse(docs.join('---\n'), 'f.yaml');
    docs[3] = SLICE('b', '10.0.0.2');
    const second = parser.parse(docs.join('---\n'), 'f.yaml');
    assert.equal(second.objects.length, 6);
    second.objects.forEach((o, i) => {
      if (i === 3) {
        assert.notEqual(o, first.objects[i]);
        assert.deepEqual(o.raw['endpoints'], [{ addresses: ['10.0.0.2'] }]);
      } else assert.equal(o, first.objects[i], `object ${i} was parsed again`);
    });
    assert.deepEqual(second.objects, parseManifestText(docs.join('---\n'), 'f.yaml').objects);
    // The same text again: the same result.
    assert.equal(parser.parse(docs.join('---\n'), 'f.yaml'), parser.parse(docs.join('---\n'), 'f.yaml'));
  });

  it('moves the lines of the documents below a change that added lines, and locates their fields there', () => {
    const docs = [SERVICE('a'), INGRESS('web'), SERVICE('z')];
    const parser = new ParsedDocuments();
    parser.parse(docs.join('---\n'), 'f.yaml');
    docs[0] = `# two more\n# lines\n${SERVICE('a')}`;
    const text = docs.join('---\n');
    const r = parser.parse(text, 'f.yaml');
    const whole = parseManifestText(text, 'f.yaml');
    assert.deepEqual(r.objects, whole.objects);
    assert.deepEqual(view(r, (o) => r.locate(o)), view(whole, (o) => whole.nodes.get(o)));
  });

  it('after a change, loadManifests locates fields at their new lines', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'web.yaml');
    writeFileSync(file, `${SERVICE('svc')}---\n${INGRESS('web')}`);
    const web = { kind: 'Ingress', namespace: 'default', name: 'web' };
    assert.deepEqual((await loadManifests([file])).locate(web, 'spec.rules[0].host'), { file, line: 17 });
    writeFileSync(file, `${SERVICE('svc')}  selector: {app: web}\n---\n${INGRESS('web')}`);
    const r = await loadManifests([file]);
    assert.deepEqual(r.locate(web, ''), { file, line: 10 });
    assert.deepEqual(r.locate(web, 'spec.rules[0].host'), { file, line: 18 });
  });
});
