import type { Kind, ObjectRef } from '../store/objects.js';

/**
 * The object a diagnostic is about. `kind` is '' (and `name` may be '') when a document could not
 * be read far enough to know them (a YAML syntax error, a document that is not a mapping).
 */
export type DiagnosticObject = Omit<ObjectRef, 'kind'> & { kind: Kind | '' };

/**
 * A problem found in one object. `error` means the object was rejected (it changes nothing);
 * `warning` means it is served but something in it does not work as written.
 */
export interface Diagnostic {
  severity: 'error' | 'warning';
  object: DiagnosticObject;
  /** Path of the field, as in `kubectl explain`: `spec.rules[0].http.paths[1].pathType`. */
  field: string;
  /** What is wrong and what to do about it, in one or two sentences. */
  message: string;
}
