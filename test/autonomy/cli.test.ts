/** `gatehouse autonomy` flags: help, and every usage mistake refused with exit code 2 and a message. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadKubeConfig } from '../../src/cli/kubeconfig.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'autonomy', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const KUBECONFIG = [
  'apiVersion: v1', 'kind: Config',
  'clusters:', '- name: c', '  cluster:', '    server: https://10.0.0.1:6443', '    certificate-authority-data: ""',
  'users:', '- name: u', '  user:', '    token: t',
  'contexts:', '- name: x', '  context:', '    cluster: c', '    user: u',
  'current-context: x', '',
].join('\n');

describe('gatehouse autonomy flags', () => {
  it('--help lists the flags and their defaults', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: gatehouse autonomy \[flags\]/);
    for (const f of ['--kubeconfig PATH', '--server URL', '--admin-address ADDR', '--admin-port PORT']) assert.ok(r.stdout.includes(f), f);
    assert.match(r.stdout, /default: 127\.0\.0\.1/);
    assert.match(r.stdout, /default: 10266/);
  });

  it('refuses usage mistakes with exit code 2 and says what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-autonomy-cli-'));
    try {
      const kc = join(dir, 'kubeconfig');
      writeFileSync(kc, KUBECONFIG);
      const cases: [string[], RegExp][] = [
        [['--admin-port', '0'], /--admin-port must be an integer from 1 to 65535/],
        [['--admin-adress', '0.0.0.0'], /unknown flag --admin-adress \(did you mean --admin-address\?\)/],
        [['--kubeconfig', kc, '--admin-address', 'localhost'], /--admin-address "localhost" is not an IP address/],
        [['--kubeconfig', kc, '--server', 'not a url'], /--server "not a url" is not a URL/],
        [['--kubeconfig', kc, '--server', 'ftp://10.0.0.2'], /must be an https:\/\/ \(or http:\/\/\) URL/],
        [['--kubeconfig', join(dir, 'missing')], /reading the cluster configuration failed/],
        [['extra'], /takes only flags/],
      ];
      for (const [args, message] of cases) {
        const r = run(args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.match(r.stderr, /Run "gatehouse autonomy --help" for the flags\./);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loadKubeConfig with a server URL keeps the credentials and the rest of the cluster', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-autonomy-cli-'));
    try {
      const path = join(dir, 'kubeconfig');
      writeFileSync(path, KUBECONFIG);
      const kc = loadKubeConfig(path, 'https://127.0.0.1:10261/');
      assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:10261');
      assert.equal(kc.getCurrentCluster()?.name, 'c');
      assert.equal(kc.getCurrentUser()?.token, 't');
      assert.equal(loadKubeConfig(path).getCurrentCluster()?.server, 'https://10.0.0.1:6443');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
