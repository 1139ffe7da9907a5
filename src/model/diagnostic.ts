import type { ObjectRef } from '../store/objects.js';

/**
 * A problem found in one object. `error` means the object was rejected (it changes nothing);
 * `warning` means it is served but something in it does not work as written.
 */
export interface Diagnostic {
  severity: 'error' | 'warning';
  object: ObjectRef;
  /** Path of the field, as in `kubectl explain`: `spec.rules[0].http.paths[1].pathType`. */
  field: string;
  /** What is wrong and what to do about it, in one or two sentences. */
  message: string;
}
