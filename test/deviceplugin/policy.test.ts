import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PreferenceError, preferredDevices } from '../../src/deviceplugin/policy.js';

/** Three PFs: a (4 free VFs), b (2), c (1); x has no PF (a VM's VF). */
const PF: Record<string, string | null> = {
  'a.1': 'a',
  'a.2': 'a',
  'a.3': 'a',
  'a.4': 'a',
  'b.1': 'b',
  'b.2': 'b',
  'c.1': 'c',
  'x.1': null,
};
const ALL = Object.keys(PF);
const pfOf = (id: string) => PF[id] ?? null;

describe('GetPreferredAllocation: balanced', () => {
  it('takes one VF per PF before a second from any, the PF with the most free VFs first', () => {
    assert.deepEqual(preferredDevices('balanced', { available: ALL, mustInclude: [], size: 3 }, pfOf), ['a.1', 'b.1', 'c.1']);
    assert.deepEqual(preferredDevices('balanced', { available: ALL, mustInclude: [], size: 5 }, pfOf), ['a.1', 'b.1', 'c.1', 'x.1', 'a.2']);
  });

  it('counts the must-include devices as taken: they come first and the rest avoid their PFs', () => {
    assert.deepEqual(preferredDevices('balanced', { available: ALL, mustInclude: ['a.3'], size: 3 }, pfOf), ['a.3', 'b.1', 'c.1']);
    assert.deepEqual(preferredDevices('balanced', { available: ALL, mustInclude: ['a.3', 'b.2'], size: 2 }, pfOf), ['a.3', 'b.2']);
  });

  it('chooses only among the available devices, whatever their order', () => {
    const got = preferredDevices('balanced', { available: ['b.2', 'a.4', 'a.2'], mustInclude: [], size: 2 }, pfOf);
    assert.deepEqual(got, ['a.2', 'b.2']);
  });
});

describe('GetPreferredAllocation: packed', () => {
  it('fills the PF whose free VFs fit the request most tightly', () => {
    assert.deepEqual(preferredDevices('packed', { available: ALL, mustInclude: [], size: 1 }, pfOf), ['c.1']);
    assert.deepEqual(preferredDevices('packed', { available: ALL, mustInclude: [], size: 2 }, pfOf), ['b.1', 'b.2']);
    assert.deepEqual(preferredDevices('packed', { available: ALL, mustInclude: [], size: 3 }, pfOf), ['a.1', 'a.2', 'a.3']);
  });

  it('when no PF fits it all, the fullest first, then the tightest fit for the rest', () => {
    assert.deepEqual(preferredDevices('packed', { available: ALL, mustInclude: [], size: 5 }, pfOf), ['a.1', 'a.2', 'a.3', 'a.4', 'c.1']);
    assert.deepEqual(preferredDevices('packed', { available: ALL, mustInclude: [], size: 7 }, pfOf), ['a.1', 'a.2', 'a.3', 'a.4', 'b.1', 'b.2', 'c.1']);
  });

  it('continues on the PFs of the must-include devices', () => {
    assert.deepEqual(preferredDevices('packed', { available: ALL, mustInclude: ['a.4'], size: 3 }, pfOf), ['a.4', 'a.1', 'a.2']);
  });
});

describe('GetPreferredAllocation: both policies', () => {
  for (const policy of ['balanced', 'packed'] as const) {
    it(`${policy}: returns exactly allocation_size devices, all available or must-include, no repeats`, () => {
      for (let size = 0; size <= ALL.length; size++) {
        for (const must of [[], ['b.2'], ['x.1', 'a.2']]) {
          if (must.length > size) continue;
          const got = preferredDevices(policy, { available: ALL, mustInclude: must, size }, pfOf);
          assert.equal(got.length, Math.max(size, must.length), `${policy} size ${size} must ${must}`);
          assert.equal(new Set(got).size, got.length, 'no repeats');
          assert.ok(must.every((m) => got.includes(m)), 'every must-include device');
          assert.ok(got.every((id) => ALL.includes(id)), 'only available devices');
        }
      }
    });

    it(`${policy}: refuses a size larger than what is available`, () => {
      assert.throws(() => preferredDevices(policy, { available: ['a.1'], mustInclude: [], size: 2 }, pfOf), PreferenceError);
      assert.throws(() => preferredDevices(policy, { available: ['a.1'], mustInclude: [], size: -1 }, pfOf), /not a device count/);
    });
  }
});
