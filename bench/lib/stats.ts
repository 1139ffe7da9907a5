/** A figure measured several times: the median is reported, the spread shows how far the runs were apart. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  /** Every run's value, in the order measured. */
  runs: number[];
  unit: string;
}

export function stat(runs: number[], unit: string): Stat {
  if (runs.length === 0) throw new Error('stat: no runs');
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs, unit };
}

/** Half the range of the runs, relative to the median, in percent (0 for one run). */
export function spreadPercent(s: Stat): number {
  return s.median === 0 ? 0 : ((s.max - s.min) / 2 / Math.abs(s.median)) * 100;
}

/** The `p`-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** `part / whole` as a percentage rounded to a whole number, as a table shows it. */
export function ratio(part: Stat | number, whole: Stat | number): string {
  const a = typeof part === 'number' ? part : part.median;
  const b = typeof whole === 'number' ? whole : whole.median;
  return b === 0 || !Number.isFinite(a / b) ? 'n/a' : `${Math.round((a / b) * 100)}%`;
}

/** Runs `measure` `n` times, one after the other, and collects each figure it returns by key. */
export async function repeat<K extends string>(n: number, measure: (run: number) => Promise<Record<K, number>>, units: Record<K, string>): Promise<Record<K, Stat>> {
  const collected = {} as Record<K, number[]>;
  for (let i = 0; i < n; i++) {
    const figures = await measure(i);
    for (const key of Object.keys(units) as K[]) (collected[key] ??= []).push(figures[key]);
  }
  const out = {} as Record<K, Stat>;
  for (const key of Object.keys(units) as K[]) out[key] = stat(collected[key], units[key]);
  return out;
}

/** A number as a table shows it: thousands separated from 100 up, three significant digits below. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (v === 0) return '0';
  return Number(v.toPrecision(3)).toString();
}

export function formatStat(s: Stat): string {
  const unit = s.unit ? ` ${s.unit}` : '';
  if (s.runs.length < 2) return `${formatNumber(s.median)}${unit}`;
  return `${formatNumber(s.median)}${unit} ±${Math.round(spreadPercent(s))}%`;
}
