/** Go durations as the autonomy annotations are written (time.ParseDuration's syntax). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatSeconds, parseGoDuration } from '../../src/autonomy/duration.js';

const seconds = (s: string): number => {
  const r = parseGoDuration(s);
  assert.ok(r.ok, `${s}: ${r.ok ? '' : r.error}`);
  return r.seconds;
};
const error = (s: string): string => {
  const r = parseGoDuration(s);
  assert.ok(!r.ok, `${s} should be refused, got ${r.ok ? r.seconds : ''}`);
  return r.error;
};

describe('parseGoDuration', () => {
  it('reads whole units and sequences of them', () => {
    assert.equal(seconds('90m'), 5400);
    assert.equal(seconds('1h30m'), 5400);
    assert.equal(seconds('2h'), 7200);
    assert.equal(seconds('300s'), 300);
    assert.equal(seconds('1h1m1s'), 3661);
    assert.equal(seconds('72h'), 259200);
    assert.equal(seconds('+5m'), 300);
  });

  it('reads fractions, and rounds up to whole seconds (never down to 0)', () => {
    assert.equal(seconds('1.5h'), 5400);
    assert.equal(seconds('.5m'), 30);
    assert.equal(seconds('5.m'), 300);
    assert.equal(seconds('500ms'), 1);
    assert.equal(seconds('1ns'), 1);
    assert.equal(seconds('1500ms'), 2);
    assert.equal(seconds('2000000us'), 2);
    assert.equal(seconds('1µs'), 1);
    assert.equal(seconds('1μs'), 1);
  });

  it('reads every spelling of zero as 0', () => {
    for (const z of ['0', '-0', '+0', '0s', '0h', '0.0m', '0ms']) assert.equal(seconds(z), 0, z);
  });

  it('refuses what Go refuses, saying what to write', () => {
    assert.match(error(''), /is not a duration: write a Go duration such as 90m/);
    assert.match(error('10'), /has a number without a unit/);
    assert.match(error('1h5'), /has a number without a unit/);
    assert.match(error('1d'), /is not a duration/);
    assert.match(error('forever'), /is not a duration/);
    assert.match(error('.s'), /is not a duration/);
    assert.match(error('1 h'), /is not a duration/);
    assert.match(error(' 1h'), /is not a duration/);
    assert.match(error('1H'), /is not a duration/);
    assert.match(error('h'), /is not a duration/);
  });

  it('refuses negative durations and ones past Go\'s int64 nanoseconds', () => {
    assert.match(error('-1h'), /is negative/);
    assert.match(error('-1ns'), /is negative/);
    assert.equal(seconds('2562047h'), 2562047 * 3600);
    assert.match(error('2562048h'), /is too long/);
    assert.match(error('99999999999999999999h'), /is too long/);
  });
});

describe('formatSeconds', () => {
  it('writes seconds as a short Go duration', () => {
    assert.equal(formatSeconds(5400), '1h30m');
    assert.equal(formatSeconds(7200), '2h');
    assert.equal(formatSeconds(61), '1m1s');
    assert.equal(formatSeconds(0), '0s');
    assert.equal(formatSeconds(90061), '25h1m1s');
  });
});
