import type { Diagnostic } from '../model/diagnostic.js';
import { displayName } from '../store/objects.js';

/**
 * How diagnostics are printed, by `gatehouse check` and in the `run` logs. One line each, in the
 * form the issue tracker and our users agreed on, with the severity before the message:
 *
 *     <file>:<line>  <Kind> <namespace>/<name>  <field>: <severity>: <message>
 *
 *     examples/web.yaml:14  Ingress default/web  spec.rules[0].host: error: "Web_1" is not a valid host …
 *     examples/web.yaml:3  Ingress default/web  metadata.annotations["x"]: warning: … is not known …
 *     examples/bad.yaml:9  -  error: YAML syntax error: …
 *
 * The location is `-` for objects that did not come from a file; the object is `-` when a document
 * could not be read far enough to know it. The severity is `error` (the object was rejected) or
 * `warning` (served, but not as written). Cluster-scoped objects show `name` without a namespace.
 * The message is on one line.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const o = d.object;
  const location = o.origin ? `${o.origin.file}:${o.origin.line}` : '-';
  const subject = [o.kind !== '' ? o.kind : o.name !== '' ? 'object' : '', o.name !== '' ? displayName(o) : '']
    .filter((s) => s !== '')
    .join(' ');
  const detail = [d.field, d.severity, oneLine(d.message)].filter((s) => s !== '').join(': ');
  return `${location}  ${subject || '-'}  ${detail}`;
}

export interface DiagnosticSummary {
  objects: number;
  errors: number;
  warnings: number;
}

export function summarize(objects: number, diagnostics: readonly Diagnostic[]): DiagnosticSummary {
  let errors = 0;
  let warnings = 0;
  for (const d of diagnostics) {
    if (d.severity === 'error') errors++;
    else warnings++;
  }
  return { objects, errors, warnings };
}

/** `12 objects, 1 error, 0 warnings`. */
export function formatSummary(s: DiagnosticSummary): string {
  return `${plural(s.objects, 'object')}, ${plural(s.errors, 'error')}, ${plural(s.warnings, 'warning')}`;
}

/**
 * Order for printing: by file, then line, then errors before warnings, then object and field;
 * diagnostics without a file last. Returns a new array.
 */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic): [number, string, number, number, string, string] => [
    d.object.origin ? 0 : 1,
    d.object.origin?.file ?? '',
    d.object.origin?.line ?? 0,
    d.severity === 'error' ? 0 : 1,
    `${d.object.kind}/${d.object.namespace}/${d.object.name}`,
    `${d.field}\u0000${d.message}`,
  ];
  return [...diagnostics].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      const x = ka[i]!;
      const y = kb[i]!;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\r?\n\s*/g, ' ').trim();
}
