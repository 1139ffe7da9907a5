/**
 * Go duration strings (`time.ParseDuration`), as OpenYurt's and Gatehouse's autonomy annotations are
 * written: a sequence of decimal numbers, each with an optional fraction and a unit (ns, us, µs, ms,
 * s, m, h), such as `90m`, `1h30m`, `1.5h` or `300ms`; `0` alone needs no unit.
 */

export type DurationResult = { ok: true; seconds: number } | { ok: false; error: string };

const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's limit: a Duration is an int64 of nanoseconds (about 292 years). */
const MAX_NS = 2n ** 63n - 1n;

const TERM = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

const HELP = 'write a Go duration such as 90m, 1h30m or 24h (units h, m, s, ms), or 0 for no limit';

/**
 * A Go duration as whole seconds, rounded up (a pod tolerates at least as long as asked: `500ms` is 1
 * second, never 0, which would mean "evict at once"). `0` (or `0s`, `0h`…) is 0. Negative durations and
 * anything Go would refuse are errors whose text says what to write instead.
 */
export function parseGoDuration(text: string): DurationResult {
  const fail = (why: string): DurationResult => ({ ok: false, error: `${JSON.stringify(text)} ${why}: ${HELP}` });
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, seconds: 0 };
  if (s === '') return fail('is not a duration');
  let total = 0n;
  let pos = 0;
  while (pos < s.length) {
    TERM.lastIndex = pos;
    const m = TERM.exec(s);
    if (!m) {
      const rest = s.slice(pos);
      if (/^\d*(\.\d*)?$/.test(rest)) return fail('has a number without a unit');
      return fail('is not a duration');
    }
    const [, whole = '', frac] = m;
    const unitNs = UNIT_NS[m[3]!]!;
    if (whole === '' && (frac === undefined || frac === '')) return fail('is not a duration');
    total += BigInt(whole || '0') * unitNs;
    if (frac) total += (BigInt(frac) * unitNs) / 10n ** BigInt(frac.length);
    if (total > MAX_NS) return fail('is too long (Go durations end at about 292 years)');
    pos = TERM.lastIndex;
  }
  if (negative && total > 0n) return fail('is negative');
  const seconds = (total + 999_999_999n) / 1_000_000_000n;
  return { ok: true, seconds: Number(seconds) };
}

/** Seconds as a short Go-style duration for logs and /status: 5400 → `1h30m`, 0 → `0s`. */
export function formatSeconds(seconds: number): string {
  if (seconds <= 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
