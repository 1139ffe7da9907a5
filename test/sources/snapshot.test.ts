import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { StoredObject } from '../../src/store/objects.js';
import { readSnapshot, SNAPSHOT_FORMAT, SnapshotWriter, writeSnapshot } from '../../src/sources/snapshot/snapshot.js';

const service: StoredObject = {
  kind: 'Service', apiVersion: 'v1', namespace: 'shop', name: 'web', annotations: {}, labels: { app: 'web' },
  creationTimestamp: '2026-01-02T03:04:05Z',
  raw: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 80 }] } },
};

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'gh-snap-'));
}

describe('snapshot', () => {
  it('writes atomically, owner-only, and reads back the same objects', () => {
    const dir = tempDir();
    try {
      const path = join(dir, 'snapshot.json');
      writeSnapshot(path, [service, { ...service, name: 'api', origin: { file: 'x.yaml', line: 1 } }], new Date('2026-03-01T00:00:00Z'));
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(dir), ['snapshot.json'], 'no temporary file is left behind');
      const read = readSnapshot(path);
      assert.equal(read.status, 'ok');
      if (read.status !== 'ok') return;
      assert.equal(read.writtenAt, '2026-03-01T00:00:00.000Z');
      assert.deepEqual(read.objects, [service, { ...service, name: 'api' }], 'origin (a file position) is not kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SnapshotWriter writes only when the objects changed', () => {
    const dir = tempDir();
    try {
      const writer = new SnapshotWriter(join(dir, 'snapshot.json'));
      assert.equal(writer.write([service]), true);
      assert.equal(writer.write([{ ...service, origin: { file: 'a.yaml', line: 3 } }]), false, 'a file position is no change');
      assert.equal(writer.write([{ ...service, labels: { app: 'web-2' } }]), true);
      const read = readSnapshot(writer.path);
      assert.equal(read.status === 'ok' && read.objects[0]!.labels['app'], 'web-2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing file is "missing"; a broken one is "corrupt" with the reason, never a partial list', () => {
    const dir = tempDir();
    try {
      const path = join(dir, 'snapshot.json');
      assert.deepEqual(readSnapshot(path), { status: 'missing' });
      const cases: [string, RegExp][] = [
        ['{"format": "gatehouse.io/snap', /not valid JSON/],
        ['[]', /format/],
        [JSON.stringify({ format: 'other/v9', writtenAt: '2026-01-01T00:00:00Z', objects: [] }), /format/],
        [JSON.stringify({ format: SNAPSHOT_FORMAT, writtenAt: 'yesterday', objects: [] }), /writtenAt/],
        [JSON.stringify({ format: SNAPSHOT_FORMAT, writtenAt: '2026-01-01T00:00:00Z', objects: {} }), /objects is not a list/],
        [JSON.stringify({ format: SNAPSHOT_FORMAT, writtenAt: '2026-01-01T00:00:00Z', objects: [service, { ...service, kind: 'Pod' }] }), /objects\[1\]\.kind "Pod"/],
        [JSON.stringify({ format: SNAPSHOT_FORMAT, writtenAt: '2026-01-01T00:00:00Z', objects: [{ ...service, raw: 'x' }] }), /objects\[0\]\.raw/],
        [JSON.stringify({ format: SNAPSHOT_FORMAT, writtenAt: '2026-01-01T00:00:00Z', objects: [{ ...service, labels: { a: 1 } }] }), /string maps/],
      ];
      for (const [text, reason] of cases) {
        writeFileSync(path, text);
        const read = readSnapshot(path);
        assert.equal(read.status, 'corrupt', text);
        if (read.status === 'corrupt') assert.match(read.reason, reason, text);
      }
      // A truncated real snapshot (a write cut short without the rename) is corrupt too.
      writeSnapshot(path, [service]);
      writeFileSync(path, readFileSync(path, 'utf8').slice(0, 60));
      assert.equal(readSnapshot(path).status, 'corrupt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
