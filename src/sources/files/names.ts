/** Kubernetes name rules for metadata: the checks of src/store/names.ts, with a suggested fix. */
import { LABEL_1035_RULE, LABEL_RULE, SUBDOMAIN_RULE, isDns1035Label, isDns1123Label, isDns1123Subdomain } from '../../store/names.js';

export type NameRule = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label';

const RULES: Readonly<Record<NameRule, { test: (s: string) => boolean; text: string }>> = {
  'dns1123-subdomain': { test: isDns1123Subdomain, text: SUBDOMAIN_RULE },
  'dns1123-label': { test: isDns1123Label, text: LABEL_RULE },
  'dns1035-label': { test: isDns1035Label, text: LABEL_1035_RULE },
};

/** `undefined` when `name` follows `rule`, else what a valid name looks like (a sentence fragment). */
export function checkName(name: string, rule: NameRule): string | undefined {
  return RULES[rule].test(name) ? undefined : RULES[rule].text;
}

/** A name close to `name` that follows `rule`, to suggest in a message; undefined if none is obvious. */
export function suggestName(name: string, rule: NameRule): string | undefined {
  const max = rule === 'dns1123-subdomain' ? 253 : 63;
  let s = name.toLowerCase().replace(rule === 'dns1123-subdomain' ? /[^a-z0-9.-]+/g : /[^a-z0-9-]+/g, '-');
  if (rule === 'dns1123-subdomain') s = s.replace(/\.{2,}/g, '.').replace(/-*\.-*/g, '.');
  s = s.slice(0, max);
  s = rule === 'dns1035-label' ? s.replace(/^[^a-z]+/, '') : s.replace(/^[^a-z0-9]+/, '');
  s = s.replace(/[^a-z0-9]+$/, '');
  return s !== '' && s !== name && checkName(s, rule) === undefined ? s : undefined;
}
