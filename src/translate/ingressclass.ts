/** Which Ingresses are ours: `spec.ingressClassName`, the legacy annotation, or the default class. */
import type { StoredObject } from '../store/objects.js';
import { field, isRecord, own } from './json.js';

export const CONTROLLER = 'gatehouse.io/ingress-controller';
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

export interface ClassIndex {
  /** IngressClass name → its spec.controller ('' when not a string). */
  controllers: ReadonlyMap<string, string>;
  /** An IngressClass with our controller is marked as the cluster default. */
  weAreDefault: boolean;
}

export function indexClasses(classes: readonly StoredObject[]): ClassIndex {
  const controllers = new Map<string, string>();
  let weAreDefault = false;
  for (const c of classes) {
    const controller = field(own(c.raw, 'spec'), 'controller');
    const ctl = typeof controller === 'string' ? controller : '';
    controllers.set(c.name, ctl);
    const ann = isRecord(c.annotations) ? own(c.annotations, DEFAULT_CLASS_ANNOTATION) : undefined;
    if (ctl === CONTROLLER && ann === 'true') weAreDefault = true;
  }
  return { controllers, weAreDefault };
}

/** A class name is ours if an IngressClass of that name has our controller, or none exists and it is our --ingress-class. */
function classIsOurs(name: string, index: ClassIndex, ingressClass: string): boolean {
  const ctl = index.controllers.get(name);
  if (ctl !== undefined) return ctl === CONTROLLER;
  return name === ingressClass;
}

/**
 * Is this Ingress for us? A class name set but not a string (or empty) is not ours: we cannot
 * claim an Ingress we cannot read the class of. Ingresses that are not ours are ignored silently.
 */
export function isOurs(ingress: StoredObject, index: ClassIndex, ingressClass: string): boolean {
  const cn = field(own(ingress.raw, 'spec'), 'ingressClassName');
  if (cn !== undefined && cn !== null) return typeof cn === 'string' && cn !== '' && classIsOurs(cn, index, ingressClass);
  const legacy = isRecord(ingress.annotations) ? own(ingress.annotations, LEGACY_CLASS_ANNOTATION) : undefined;
  if (legacy !== undefined) return typeof legacy === 'string' && legacy !== '' && classIsOurs(legacy, index, ingressClass);
  return index.weAreDefault;
}
