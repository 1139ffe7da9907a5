import type { Diagnostic } from '../model/diagnostic.js';
import { loadManifests, ManifestPathError, type FieldLocator } from '../sources/files/load.js';
import { translate } from '../translate/translate.js';
import { defineCommand, formatHelp, parseCommandLine, UsageError } from './args.js';
import { formatDiagnostic, formatSummary, sortDiagnostics, summarize, type DiagnosticSummary } from './diagnostics-format.js';

export const checkCommand = defineCommand({
  name: 'check',
  usage: 'gatehouse check [flags] [PATH...]',
  summary: [
    'Reads Kubernetes manifests the way the gateway does and prints every problem, one per line:',
    '  FILE:LINE  Kind namespace/name  field: error|warning: what is wrong and what to do',
    'then "N objects, N errors, N warnings". Exits 1 when an object is rejected (an error), 0',
    'otherwise, 2 for a usage mistake or a path that does not exist.',
  ].join('\n'),
  positionals: true,
  flags: {
    manifests: {
      type: 'strings',
      valueName: 'PATH',
      description: 'A YAML file, or a directory whose .yaml/.yml files are read (not its subdirectories); paths can also be given as arguments',
    },
    'ingress-class': { type: 'string', default: 'gatehouse', valueName: 'NAME', description: 'The IngressClass this gateway serves' },
    output: { type: 'string', short: 'o', choices: ['text', 'json'], default: 'text', description: 'Output format' },
  },
});

/** The `-o json` document. */
export interface CheckReport {
  diagnostics: Diagnostic[];
  summary: DiagnosticSummary;
}

/**
 * Moves each translate diagnostic from the first line of its object to the line of its field
 * (as far as the field is written). Diagnostics of objects that were not read from files, and
 * load diagnostics (already at their line), are left as they are.
 */
export function locateDiagnostics(diagnostics: readonly Diagnostic[], locate: FieldLocator): Diagnostic[] {
  return diagnostics.map((d) => {
    if (d.object.kind === '' || d.object.origin === undefined) return d;
    const origin = locate(d.object, d.field);
    return origin && origin.file === d.object.origin.file ? { ...d, object: { ...d.object, origin } } : d;
  });
}

/**
 * `gatehouse check`. `out` gets the report (one call per line of text, or the JSON document),
 * `err` the usage and path errors (default: `out`). Returns the exit code.
 */
export async function runCheck(argv: string[], out: (s: string) => void, err: (s: string) => void = out): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine(checkCommand, argv);
    if (values.help) {
      out(formatHelp(checkCommand));
      return 0;
    }
    const paths = [...values.manifests, ...positionals];
    if (paths.length === 0) throw new UsageError('no manifests given: name a file or a directory with --manifests PATH (or as an argument)');

    const loaded = await loadManifests(paths);
    const translated = translate({
      objects: loaded.objects,
      ingressClass: values['ingress-class'],
      configMap: { name: 'gatehouse' },
      now: new Date(),
    });
    const diagnostics = sortDiagnostics([...loaded.diagnostics, ...locateDiagnostics(translated.diagnostics, loaded.locate)]);
    const summary = summarize(loaded.objects.length, diagnostics);
    if (values.output === 'json') {
      const report: CheckReport = { diagnostics, summary };
      out(JSON.stringify(report, null, 2));
    } else {
      for (const d of diagnostics) out(formatDiagnostic(d));
      out(formatSummary(summary));
    }
    return summary.errors > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`gatehouse check: ${e.message}\nRun "gatehouse check --help" for the flags.`);
      return e.exitCode;
    }
    if (e instanceof ManifestPathError) {
      err(`gatehouse check: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
