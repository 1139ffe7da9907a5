import type { Machine } from './machine.js';
import type { Stat } from './stats.js';

/** A table cell: text, a plain number, or a figure measured several times. */
export type Cell = string | number | Stat;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Sentences shown under the table: what a column means, what a reference is. */
  notes?: string[];
}

/** What a benchmark script measured, as written to bench/results/<name>.json. */
export interface Measured {
  /** How it was measured, one sentence per item (tools, counts, durations, configurations). */
  method: string[];
  tables: Table[];
  /**
   * The figures behind the tables in a form for programs (CI's smoke tests assert on it); written to
   * the results JSON, not shown in docs/benchmarks.md.
   */
  data?: Record<string, unknown>;
}

export interface BenchResult extends Measured {
  name: string;
  title: string;
  /** ISO date and time the run started. */
  date: string;
  /** A short run to check the script works (CI), not figures to read. */
  smoke: boolean;
  durationSeconds: number;
  machine: Machine;
}

export interface BenchContext {
  smoke: boolean;
  /** Progress for the person running it (stderr). */
  log(message: string): void;
}

export interface Bench {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<Measured>;
}
