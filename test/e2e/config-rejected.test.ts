import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startEchoBackend, type EchoBackend } from '../helpers/backends.js';
import { request } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { ingress, service, yamlOf } from '../helpers/manifests.js';

/**
 * HAProxy refusing a configuration (as a build without a feature would) must leave the last good one
 * serving. The refusal comes from a wrapper around the real haproxy that fails `-c` while a flag file
 * exists; everything else is passed to the real binary.
 */
describe('a configuration that fails haproxy -c', () => {
  let web: EchoBackend;
  let gw: RunningGateway;
  let flag: string;
  const objects = (hosts: string[]) => yamlOf(...service('web', [{ port: web.port }]), ...hosts.map((h) => ingress(h.replace(/\./g, '-'), { rules: [{ host: h, paths: [{ path: '/', service: 'web' }] }] })));

  before(async () => {
    web = await startEchoBackend('web');
    const real = execFileSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).trim();
    const dir = process.env.TMPDIR ?? '/tmp';
    const wrapper = join(dir, `gh-haproxy-wrapper-${process.pid}.sh`);
    flag = `${wrapper}.refuse`;
    writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = "-c" ] && [ -e "${flag}" ]; then echo "[ALERT] config : simulated refusal" >&2; exit 1; fi\nexec ${real} "$@"\n`);
    chmodSync(wrapper, 0o755);
    gw = await startGateway(objects(['one.test']), ['--haproxy', wrapper]);
  });
  after(async () => {
    await gw?.stop();
    await web?.close();
    rmSync(flag, { force: true });
  });

  test('is reported, and the last good configuration keeps serving', async () => {
    writeFileSync(flag, '');
    const status = await gw.update(objects(['one.test', 'two.test']), (s) => s.lastError !== null);
    assert.match(status.lastError!, /simulated refusal/);
    assert.match(await gw.metrics(), /gatehouse_config_rejected_total 1/);
    assert.equal((await request(gw.httpPort, { host: 'one.test' })).status, 200);
    assert.equal((await request(gw.httpPort, { host: 'two.test' })).status, 404);

    rmSync(flag);
    await gw.update(objects(['one.test', 'two.test', 'three.test']), (s) => s.lastError === null);
    assert.equal((await request(gw.httpPort, { host: 'three.test' })).status, 200);
    assert.equal((await request(gw.httpPort, { host: 'one.test' })).status, 200);
  });
});
