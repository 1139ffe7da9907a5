import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { debounce } from '../../src/sources/files/debounce.js';

describe('debounce', () => {
  it('runs once, waitMs after the last trigger of a burst', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let calls = 0;
    const d = debounce(() => calls++, 100, 500);
    d.trigger();
    t.mock.timers.tick(60);
    d.trigger();
    t.mock.timers.tick(60);
    d.trigger();
    t.mock.timers.tick(99);
    assert.equal(calls, 0);
    t.mock.timers.tick(1);
    assert.equal(calls, 1);
    t.mock.timers.tick(1000);
    assert.equal(calls, 1, 'the deadline timer of a finished burst does not fire again');
  });

  it('runs at most maxWaitMs after the first trigger when triggers keep coming', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let calls = 0;
    const d = debounce(() => calls++, 100, 500);
    for (let elapsed = 0; elapsed < 500; elapsed += 50) {
      d.trigger();
      t.mock.timers.tick(50);
    }
    assert.equal(calls, 1);
    // A new burst starts a new deadline.
    d.trigger();
    t.mock.timers.tick(100);
    assert.equal(calls, 2);
  });

  it('waits the quiet time the last trigger asked for', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let calls = 0;
    const d = debounce(() => calls++, 100, 500);
    d.trigger();
    d.trigger(10); // a short quiet after the long one: the last trigger decides
    t.mock.timers.tick(9);
    assert.equal(calls, 0);
    t.mock.timers.tick(1);
    assert.equal(calls, 1);
    d.trigger(10);
    d.trigger(); // a long one after the short one waits the whole default
    t.mock.timers.tick(99);
    assert.equal(calls, 1);
    t.mock.timers.tick(1);
    assert.equal(calls, 2);
  });

  it('cancel drops a pending call', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let calls = 0;
    const d = debounce(() => calls++, 100, 500);
    d.trigger();
    d.cancel();
    t.mock.timers.tick(1000);
    assert.equal(calls, 0);
  });
});
