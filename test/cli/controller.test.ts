import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function controller(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, KUBERNETES_SERVICE_HOST: '', KUBECONFIG: '/nonexistent/kubeconfig', HOME: '/nonexistent' };
  const r = spawnSync(process.execPath, [MAIN, 'controller', ...args], { encoding: 'utf8', timeout: 20_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('gatehouse controller (flags)', () => {
  it('documents its flags in --help', () => {
    const r = controller('--help');
    assert.equal(r.code, 0);
    for (const flag of ['--kubeconfig', '--configmap', '--watch-namespace', '--publish-service', '--publish-address', '--lease', '--lease-duration', '--identity', '--admin-address', '--state-dir']) {
      assert.ok(r.stdout.includes(flag), `${flag} in the help`);
    }
  });

  it('exits 2 with a message naming the flag and the fix', () => {
    const cases: [string[], RegExp][] = [
      [['--configmap', 'gatehouse'], /--configmap "gatehouse" must be NAMESPACE\/NAME/],
      [['--publish-service', 'a/b/c'], /--publish-service "a\/b\/c" must be NAMESPACE\/NAME/],
      [['--lease', 'Gate/x'], /--lease "Gate\/x" must be NAMESPACE\/NAME/],
      [['--watch-namespace', 'Not_A_Namespace'], /--watch-namespace "Not_A_Namespace" is not a namespace name/],
      [['--admin-address', 'localhost'], /--admin-address localhost is not an IPv4 address/],
      [['--kubeconfig', '/nonexistent/kubeconfig'], /reading the cluster configuration failed/],
      [[], /no cluster to connect to|reading the cluster configuration failed/],
    ];
    for (const [args, message] of cases) {
      const r = controller(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.match(r.stderr, /Run "gatehouse controller --help"/);
    }
  });
});
