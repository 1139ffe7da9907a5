import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult, Cell, Table } from './result.js';
import { formatNumber, formatStat } from './stats.js';

function cellText(c: Cell): string {
  if (typeof c === 'string') return c;
  if (typeof c === 'number') return formatNumber(c);
  return formatStat(c);
}

function tableMarkdown(t: Table): string[] {
  const escape = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `#### ${t.title}`,
    '',
    `| ${t.columns.map(escape).join(' | ')} |`,
    `| ${t.columns.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map((c) => escape(cellText(c))).join(' | ')} |`),
    '',
    ...(t.notes ?? []).map((n) => `${n}  `),
    ...(t.notes?.length ? [''] : []),
  ];
}

/**
 * docs/benchmarks.md from the results (bench/results/<name>.json) in `order`, each followed by what was
 * learned from it (bench/notes/<name>.md, written by people, kept across runs); bench/notes/summary.md
 * comes first.
 */
export function benchmarksMarkdown(results: BenchResult[], notesDir: string, intro: string): string {
  const lines = [intro.trim(), ''];
  const summary = join(notesDir, 'summary.md');
  if (existsSync(summary)) lines.push(readFileSync(summary, 'utf8').trim(), '');
  for (const r of results) {
    lines.push(`## ${r.title}`, '');
    const m = r.machine;
    lines.push(
      `Run \`npm run bench -- ${r.name}\` on ${r.date.slice(0, 10)}${r.smoke ? ' (**smoke run: too short to read figures from**)' : ''}, ${Math.round(r.durationSeconds)} s. ` +
        `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Linux ${m.kernel}. ` +
        `Versions: ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
      '',
      '**Method**',
      '',
      ...r.method.map((s) => `- ${s}`),
      '',
    );
    for (const t of r.tables) lines.push(...tableMarkdown(t));
    const notes = join(notesDir, `${r.name}.md`);
    if (existsSync(notes)) lines.push(readFileSync(notes, 'utf8').trim(), '');
  }
  return lines.join('\n').replace(/\n{3,}/g, '\n\n');
}
