import { parseArgs } from 'node:util';
import { closestName } from '../model/suggest.js';

/**
 * Command-line flags, declared once as a table: the table gives the parser, the types of the
 * parsed values and the `--help` text. A thin layer over node:util parseArgs with our own checks,
 * so every mistake gets a message a person can act on (and exit code 2).
 *
 *     const cmd = defineCommand({ name: 'check', usage: '…', summary: '…', flags: {
 *       output: { type: 'string', short: 'o', choices: ['text', 'json'], default: 'text', description: '…' },
 *     } });
 *     const { values, positionals } = parseCommandLine(cmd, argv); // values.output: 'text' | 'json'
 *
 * Every command gets `-h, --help`. A flag given twice keeps the last value, except `strings`
 * flags, which collect every value (`--manifests a --manifests b`).
 */

interface FlagBase {
  description: string;
  /** One letter, used as `-x`. */
  short?: string;
  /** Shown in the help after the flag (`--manifests PATH`). */
  valueName?: string;
}

export interface BooleanFlag extends FlagBase {
  type: 'boolean';
}
export interface StringFlag extends FlagBase {
  type: 'string';
  default?: string;
  choices?: readonly string[];
}
/** Repeatable: every occurrence adds a value. */
export interface StringsFlag extends FlagBase {
  type: 'strings';
}
export interface IntegerFlag extends FlagBase {
  type: 'integer';
  default?: number;
  min?: number;
  max?: number;
}

export type FlagSpec = BooleanFlag | StringFlag | StringsFlag | IntegerFlag;
export type FlagTable = Readonly<Record<string, FlagSpec>>;

type Defaulted<S, V> = S extends { default: unknown } ? V : V | undefined;

export type FlagValue<S extends FlagSpec> = S extends BooleanFlag
  ? boolean
  : S extends StringsFlag
    ? string[]
    : S extends IntegerFlag
      ? Defaulted<S, number>
      : S extends { choices: readonly (infer C extends string)[] }
        ? Defaulted<S, C>
        : Defaulted<S, string>;

export type FlagValues<T extends FlagTable> = { -readonly [K in keyof T]: FlagValue<T[K]> } & { help: boolean };

export interface CommandSpec<T extends FlagTable> {
  /** As typed after `gatehouse`. */
  name: string;
  /** `gatehouse check [flags] [PATH...]`. */
  usage: string;
  /** One or two sentences: what the command does. */
  summary: string;
  flags: T;
  /** Whether arguments that are not flags are accepted (default: no). */
  positionals?: boolean;
}

/** Declares a command; keeps the literal types of the table (choices become a union). */
export function defineCommand<const T extends FlagTable>(spec: CommandSpec<T>): CommandSpec<T> {
  for (const name of Object.keys(spec.flags)) {
    if (name === 'help') throw new Error(`flag --help is built in; remove it from the table of "${spec.name}"`);
  }
  return spec;
}

/** A mistake on the command line: the message says what is wrong; the command exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

/** Tokens that are really another flag, not a value: `--manifests --output json`. */
function looksLikeFlag(value: string, known: ReadonlySet<string>): boolean {
  if (!value.startsWith('-') || value === '-' || /^-\d/.test(value)) return false;
  const name = value.replace(/^--?/, '').split('=')[0]!;
  return value.startsWith('--') || known.has(name);
}

/** Parses `argv` (without the command name) against the command's table; throws UsageError. */
export function parseCommandLine<T extends FlagTable>(spec: CommandSpec<T>, argv: readonly string[]): { values: FlagValues<T>; positionals: string[] } {
  const table: Record<string, FlagSpec> = { ...spec.flags, help: { type: 'boolean', short: 'h', description: 'Show this help' } };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  const shorts = new Set<string>();
  for (const [name, f] of Object.entries(table)) {
    options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string', ...(f.short ? { short: f.short } : {}), ...(f.type === 'strings' ? { multiple: true } : {}) };
    if (f.short) shorts.add(f.short);
  }
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });

  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(table)) {
    if (f.type === 'boolean') values[name] = false;
    else if (f.type === 'strings') values[name] = [];
    else if (f.default !== undefined) values[name] = f.default;
  }
  // --help wins over every other mistake on the line.
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) {
    values['help'] = true;
    return { values: values as FlagValues<T>, positionals: [] };
  }

  const knownNames = new Set([...Object.keys(table), ...shorts]);
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      if (!spec.positionals) throw new UsageError(`unexpected argument ${JSON.stringify(t.value)}: "gatehouse ${spec.name}" takes only flags`);
      positionals.push(t.value);
      continue;
    }
    const f = table[t.name];
    if (f === undefined) {
      const hint = suggestFlag(t.name, Object.keys(table));
      throw new UsageError(`unknown flag ${t.rawName}${hint ? ` (did you mean --${hint}?)` : ''}`);
    }
    const flag = `--${t.name}`;
    if (f.type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`flag ${flag} takes no value (got ${JSON.stringify(t.value)})`);
      values[t.name] = true;
      continue;
    }
    const what = f.valueName ?? 'VALUE';
    if (t.value === undefined) throw new UsageError(`flag ${flag} needs a value: ${flag} ${what}`);
    if (!t.inlineValue && looksLikeFlag(t.value, knownNames)) {
      throw new UsageError(`flag ${flag} needs a value, got the flag ${t.value}: write ${flag} ${what} (or ${flag}=${t.value} for a value that starts with '-')`);
    }
    values[t.name] = convert(flag, f, t.value, values[t.name]);
  }
  return { values: values as FlagValues<T>, positionals };
}

function convert(flag: string, f: StringFlag | StringsFlag | IntegerFlag, raw: string, previous: unknown): unknown {
  switch (f.type) {
    case 'strings':
      if (raw === '') throw new UsageError(`flag ${flag} needs a non-empty value`);
      return [...(previous as string[]), raw];
    case 'string':
      if (f.choices && !f.choices.includes(raw)) {
        throw new UsageError(`flag ${flag} must be one of ${f.choices.join(', ')}; got ${JSON.stringify(raw)}`);
      }
      return raw;
    case 'integer': {
      const range = rangeText(f);
      if (!/^[+-]?\d+$/.test(raw.trim())) throw new UsageError(`flag ${flag} must be an integer${range}; got ${JSON.stringify(raw)}`);
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || (f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
        throw new UsageError(`flag ${flag} must be an integer${range}; got ${raw}`);
      }
      return n;
    }
  }
}

function rangeText(f: IntegerFlag): string {
  if (f.min !== undefined && f.max !== undefined) return ` from ${f.min} to ${f.max}`;
  if (f.min !== undefined) return ` of at least ${f.min}`;
  if (f.max !== undefined) return ` of at most ${f.max}`;
  return '';
}

/** A TCP port: an integer from 1 to 65535 (with a default, the parsed value is a number). */
export function portFlag(description: string): IntegerFlag;
export function portFlag(description: string, defaultPort: number): IntegerFlag & { default: number };
export function portFlag(description: string, defaultPort?: number): IntegerFlag {
  return { type: 'integer', min: 1, max: 65535, valueName: 'PORT', description, ...(defaultPort !== undefined ? { default: defaultPort } : {}) };
}

/** The closest known flag to a mistyped one (the only one it starts, or at most 2 edits away). */
function suggestFlag(name: string, known: readonly string[]): string | undefined {
  const prefixed = known.filter((k) => k.startsWith(name) && name.length >= 2);
  if (prefixed.length === 1) return prefixed[0];
  return closestName(name, known, 3);
}

/** The `--help` text: usage, summary, then one line per flag (with its values and default). */
export function formatHelp<T extends FlagTable>(spec: CommandSpec<T>): string {
  const table: [string, FlagSpec][] = [...Object.entries(spec.flags), ['help', { type: 'boolean', short: 'h', description: 'Show this help' }]];
  const rows = table.map(([name, f]) => {
    const value = f.type === 'boolean' ? '' : ` ${f.type === 'string' && f.choices ? f.choices.join('|') : (f.valueName ?? (f.type === 'integer' ? 'N' : 'VALUE'))}`;
    const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${value}`;
    const notes: string[] = [];
    if (f.type === 'strings') notes.push('repeatable');
    if ((f.type === 'string' || f.type === 'integer') && f.default !== undefined) notes.push(`default: ${f.default}`);
    if (f.type === 'integer' && f.default === undefined && (f.min !== undefined || f.max !== undefined)) notes.push(rangeText(f).trim());
    return [left, `${f.description}${notes.length ? ` (${notes.join('; ')})` : ''}`] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return [`Usage: ${spec.usage}`, '', spec.summary, '', 'Flags:', ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`)].join('\n');
}
