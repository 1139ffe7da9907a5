import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/test/cli/main.test.js → dist/src/cli/main.js
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function gatehouse(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('gatehouse (main)', () => {
  it('prints the version of the package', () => {
    const r = gatehouse('version');
    assert.deepEqual([r.code, r.stdout], [0, `gatehouse ${PKG.version}\n`]);
    assert.equal(gatehouse('--version').stdout, `gatehouse ${PKG.version}\n`);
  });

  it('lists the commands in help, and shows a command\'s help', () => {
    const r = gatehouse('help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: gatehouse <command> \[flags\]/);
    assert.match(r.stdout, /\n {2}check +Check manifests/);
    const c = gatehouse('help', 'check');
    assert.equal(c.code, 0);
    assert.match(c.stdout, /^Usage: gatehouse check/);
  });

  it('exits 2 with the usage for an unknown command or none', () => {
    const r = gatehouse('frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^gatehouse: unknown command "frobnicate"\n\nUsage: gatehouse <command>/);
    assert.equal(r.stdout, '');
    const none = gatehouse();
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: gatehouse <command>/);
  });

  it('passes the command\'s exit code through (check with a missing path: 2)', () => {
    const r = gatehouse('check', '--manifests', '/nonexistent/gatehouse-test');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /manifest path "\/nonexistent\/gatehouse-test" does not exist/);
  });
});
