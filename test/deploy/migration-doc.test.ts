/**
 * The ingress-nginx comparison tables (docs/migrating-from-ingress-nginx.md and the README's short
 * one) name only Gatehouse settings that exist, and only where they can be set (ConfigMap,
 * annotation); the full doc mentions every Gatehouse setting, so a new one cannot be left out of it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SETTINGS, type SettingInfo } from '../../src/translate/settings.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BY_NAME = new Map<string, SettingInfo>(SETTINGS.map((s) => [s.name, s]));
/** Gatehouse column entries that are not settings but standard Kubernetes fields or annotations. */
const STANDARD = new Set(['kubernetes.io/ingress.class', 'ingressclass.kubernetes.io/is-default-class', 'spec.defaultBackend']);

interface Row {
  line: number;
  cells: string[];
}

/** The rows of the first Markdown table whose header starts with `| ingress-nginx | where`. */
function comparisonTable(text: string, file: string): Row[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\|\s*ingress-nginx\s*\|\s*where/.test(l));
  assert.ok(start >= 0, `${file}: the comparison table (header "| ingress-nginx | where …") is there`);
  const rows: Row[] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    rows.push({ line: i + 1, cells: lines[i]!.split('|').slice(1, -1).map((c) => c.trim()) });
  }
  assert.ok(rows.length > 5, `${file}: the table has rows`);
  return rows;
}

/** `key`, `key: value`, `gatehouse.io/key` in backticks → key. */
function keysIn(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.split(':')[0]!.trim().replace(/^gatehouse\.io\//, ''));
}

function checkTable(file: string): Set<string> {
  const rows = comparisonTable(readFileSync(join(ROOT, file), 'utf8'), file);
  const named = new Set<string>();
  for (const { line, cells } of rows) {
    assert.equal(cells.length, 5, `${file}:${line}: five columns`);
    const [, , gatehouse, where] = cells as [string, string, string, string, string];
    const keys = keysIn(gatehouse);
    assert.ok(keys.length > 0, `${file}:${line}: the Gatehouse column names a setting`);
    for (const key of keys) {
      if (STANDARD.has(key)) continue;
      const s = BY_NAME.get(key);
      assert.ok(s, `${file}:${line}: "${key}" is a Gatehouse setting (src/translate/settings.ts)`);
      named.add(key);
      // The column may name fewer places than the setting has (a row about a ConfigMap key), never more.
      const says = { configMap: /ConfigMap/.test(where), annotation: /annotation/.test(where) };
      assert.ok(says.configMap || says.annotation, `${file}:${line}: the where column says ConfigMap or annotation`);
      if (says.configMap) assert.ok(s.configMap, `${file}:${line}: ${key} cannot be set in the ConfigMap`);
      if (says.annotation) assert.ok(s.annotation, `${file}:${line}: ${key} cannot be set as an annotation`);
    }
  }
  return named;
}

describe('ingress-nginx comparison tables', () => {
  it('docs/migrating-from-ingress-nginx.md names only real settings, where they can be set, and every setting somewhere', () => {
    checkTable('docs/migrating-from-ingress-nginx.md');
    const text = readFileSync(join(ROOT, 'docs/migrating-from-ingress-nginx.md'), 'utf8');
    for (const s of SETTINGS) assert.ok(text.includes(`\`${s.name}`), `the migration doc mentions the setting ${s.name}`);
  });

  it("the README's short table names only real settings, where they can be set", () => {
    checkTable('README.md');
  });
});
