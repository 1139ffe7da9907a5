/** Which node annotations make a node autonomous, for how long, and which are refused. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeAutonomy, sameAutonomy, type NodeAutonomy } from '../../src/autonomy/annotations.js';

const on = (seconds: number | null, annotation: string, value: string): NodeAutonomy => ({ state: 'on', seconds, annotation, value });

describe('nodeAutonomy', () => {
  it('is off without any annotation, and off for unrelated ones', () => {
    assert.deepEqual(nodeAutonomy({}), { state: 'off' });
    assert.deepEqual(nodeAutonomy({ 'example.com/autonomy': 'true' }), { state: 'off' });
  });

  it('gatehouse.io/autonomy "true": no limit without a duration, else the duration', () => {
    assert.deepEqual(nodeAutonomy({ 'gatehouse.io/autonomy': 'true' }), on(null, 'gatehouse.io/autonomy', 'true'));
    assert.deepEqual(
      nodeAutonomy({ 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '90m' }),
      on(5400, 'gatehouse.io/autonomy-duration', '90m'),
    );
    assert.deepEqual(
      nodeAutonomy({ 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '1h30m' }),
      on(5400, 'gatehouse.io/autonomy-duration', '1h30m'),
    );
    assert.deepEqual(nodeAutonomy({ 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '0' }), on(null, 'gatehouse.io/autonomy-duration', '0'));
  });

  it('a duration alone does not make a node autonomous', () => {
    assert.deepEqual(nodeAutonomy({ 'gatehouse.io/autonomy-duration': '2h' }), { state: 'off' });
  });

  it('gatehouse.io/autonomy "false" is off, even with OpenYurt annotations', () => {
    assert.deepEqual(nodeAutonomy({ 'gatehouse.io/autonomy': 'false', 'node.openyurt.io/autonomy-duration': '2h', 'node.beta.openyurt.io/autonomy': 'true' }), { state: 'off' });
  });

  it('gatehouse.io/autonomy wins over OpenYurt\'s duration', () => {
    assert.deepEqual(
      nodeAutonomy({ 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '1h', 'node.openyurt.io/autonomy-duration': '2h' }),
      on(3600, 'gatehouse.io/autonomy-duration', '1h'),
    );
  });

  it('OpenYurt node.openyurt.io/autonomy-duration: 0 is no limit, else the duration', () => {
    assert.deepEqual(nodeAutonomy({ 'node.openyurt.io/autonomy-duration': '0' }), on(null, 'node.openyurt.io/autonomy-duration', '0'));
    assert.deepEqual(nodeAutonomy({ 'node.openyurt.io/autonomy-duration': '0s' }), on(null, 'node.openyurt.io/autonomy-duration', '0s'));
    assert.deepEqual(nodeAutonomy({ 'node.openyurt.io/autonomy-duration': '2h' }), on(7200, 'node.openyurt.io/autonomy-duration', '2h'));
    assert.deepEqual(nodeAutonomy({ 'node.openyurt.io/autonomy-duration': '24h' }), on(86400, 'node.openyurt.io/autonomy-duration', '24h'));
  });

  it('OpenYurt\'s older node.beta.openyurt.io/autonomy "true" is no limit; the duration annotation wins over it', () => {
    assert.deepEqual(nodeAutonomy({ 'node.beta.openyurt.io/autonomy': 'true' }), on(null, 'node.beta.openyurt.io/autonomy', 'true'));
    assert.deepEqual(nodeAutonomy({ 'node.beta.openyurt.io/autonomy': 'false' }), { state: 'off' });
    assert.deepEqual(
      nodeAutonomy({ 'node.beta.openyurt.io/autonomy': 'true', 'node.openyurt.io/autonomy-duration': '10m' }),
      on(600, 'node.openyurt.io/autonomy-duration', '10m'),
    );
  });

  it('an unreadable value makes the node invalid, naming the annotation, the value and the fix', () => {
    const cases: [Record<string, string>, string, string][] = [
      [{ 'gatehouse.io/autonomy': 'yes' }, 'gatehouse.io/autonomy', 'yes'],
      [{ 'gatehouse.io/autonomy': 'True' }, 'gatehouse.io/autonomy', 'True'],
      [{ 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '2 hours' }, 'gatehouse.io/autonomy-duration', '2 hours'],
      [{ 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': '-5m' }, 'gatehouse.io/autonomy-duration', '-5m'],
      [{ 'node.openyurt.io/autonomy-duration': '1d' }, 'node.openyurt.io/autonomy-duration', '1d'],
      [{ 'node.openyurt.io/autonomy-duration': '' }, 'node.openyurt.io/autonomy-duration', ''],
      [{ 'node.beta.openyurt.io/autonomy': 'on' }, 'node.beta.openyurt.io/autonomy', 'on'],
    ];
    for (const [annotations, annotation, value] of cases) {
      const a = nodeAutonomy(annotations);
      assert.equal(a.state, 'invalid', JSON.stringify(annotations));
      if (a.state !== 'invalid') continue;
      assert.equal(a.annotation, annotation);
      assert.equal(a.value, value);
      assert.ok(a.problem.includes(JSON.stringify(value)), a.problem);
      assert.match(a.fix, new RegExp(`^kubectl annotate node NODE --overwrite ${annotation.replace(/\./g, '\\.')}=`));
    }
  });

  it('an invalid gatehouse.io/autonomy-duration is not replaced by a valid OpenYurt one', () => {
    assert.equal(nodeAutonomy({ 'gatehouse.io/autonomy': 'true', 'gatehouse.io/autonomy-duration': 'soon', 'node.openyurt.io/autonomy-duration': '2h' }).state, 'invalid');
  });

  it('accepts a duration with surrounding spaces (kubectl annotate keeps them)', () => {
    assert.deepEqual(nodeAutonomy({ 'node.openyurt.io/autonomy-duration': ' 2h ' }), on(7200, 'node.openyurt.io/autonomy-duration', ' 2h '));
  });
});

describe('sameAutonomy', () => {
  it('compares what the states ask of pods, not where they came from', () => {
    assert.ok(sameAutonomy(on(7200, 'a', '2h'), on(7200, 'b', '120m')));
    assert.ok(!sameAutonomy(on(7200, 'a', '2h'), on(3600, 'a', '1h')));
    assert.ok(!sameAutonomy(on(null, 'a', '0'), on(3600, 'a', '1h')));
    assert.ok(!sameAutonomy(on(null, 'a', '0'), { state: 'off' }));
    assert.ok(sameAutonomy({ state: 'off' }, { state: 'off' }));
    const bad = (value: string): NodeAutonomy => ({ state: 'invalid', annotation: 'a', value, problem: '', fix: '' });
    assert.ok(sameAutonomy(bad('x'), bad('x')));
    assert.ok(!sameAutonomy(bad('x'), bad('y')));
  });
});
