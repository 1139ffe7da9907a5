/** Kubernetes name rules for metadata (apimachinery's validation, same limits and messages). */

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL = new RegExp(`^${LABEL}$`);
const DNS1123_SUBDOMAIN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export type NameRule = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label';

/** `undefined` when `name` follows `rule`, else what a valid name looks like (a sentence fragment). */
export function checkName(name: string, rule: NameRule): string | undefined {
  switch (rule) {
    case 'dns1123-subdomain':
      return name.length <= 253 && DNS1123_SUBDOMAIN.test(name)
        ? undefined
        : "at most 253 characters: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
    case 'dns1123-label':
      return name.length <= 63 && DNS1123_LABEL.test(name)
        ? undefined
        : "at most 63 characters: lowercase letters, digits and '-', starting and ending with a letter or digit";
    case 'dns1035-label':
      return name.length <= 63 && DNS1035_LABEL.test(name)
        ? undefined
        : "at most 63 characters: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit";
  }
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
