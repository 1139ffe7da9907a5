/**
 * Kubernetes name rules. Names end up in HAProxy identifiers and file names, so an object whose
 * name breaks them is rejected: this is a security check, not a nicety.
 */

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** DNS-1123 label: namespaces. At most 63 characters of `[a-z0-9-]`, alphanumeric at both ends. */
export function isDns1123Label(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 63 && LABEL.test(s);
}

/** DNS-1123 subdomain: most object names. At most 253 characters, dot-separated labels. */
export function isDns1123Subdomain(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 253 && SUBDOMAIN.test(s);
}

/** DNS-1035 label: Service names. Like a DNS-1123 label, but starting with a letter. */
export function isDns1035Label(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 63 && LABEL_1035.test(s);
}

/** IANA service name: named ports. At most 15 characters, a letter among them, no `--`. */
export function isIanaServiceName(s: unknown): s is string {
  return (
    typeof s === 'string' &&
    s.length <= 15 &&
    IANA_SVC.test(s) &&
    /[a-z]/.test(s) &&
    !s.includes('--')
  );
}

export const LABEL_RULE = 'at most 63 characters of lowercase letters, digits and "-", starting and ending with a letter or digit';
export const SUBDOMAIN_RULE = 'at most 253 characters of lowercase letters, digits, "-" and ".", each dot-separated part starting and ending with a letter or digit';
export const LABEL_1035_RULE = 'at most 63 characters of lowercase letters, digits and "-", starting with a letter and ending with a letter or digit';
export const IANA_RULE = 'at most 15 characters of lowercase letters, digits and "-", with at least one letter and no "--"';
