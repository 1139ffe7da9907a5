/**
 * Flow filters, like `hubble observe`'s: `--verdict DENIED --namespace shop --not --http-status 4+`.
 * Values of one filter are OR'd, different filters AND'd, `negate` inverts one filter. A flow that
 * lacks the field (no HTTP request, no TLS, no Ingress matched) does not match a positive filter,
 * and so matches the negated one. Pure: the CLI builds the filters from its flags, the admin API
 * from JSON, and both compile them here.
 */
import { BlockList, isIP } from 'node:net';
import type { Flow, Verdict } from './flow.js';

export const FILTER_FIELDS = ['namespace', 'ingress', 'service', 'host', 'verdict', 'http-status', 'http-method', 'http-path', 'from-ip', 'sni'] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

export interface FlowFilter {
  field: FilterField;
  values: string[];
  negate: boolean;
}

/** A filter that cannot be used; the message names the flag, the value and what to write instead. */
export class FilterError extends Error {
  override name = 'FilterError';
}

const VERDICTS: readonly Verdict[] = ['FORWARDED', 'DENIED', 'ERROR', 'REDIRECTED'];
/** A DNS label (RFC 1123), as Kubernetes names namespaces. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A DNS subdomain (RFC 1123), as Kubernetes names Ingresses and Services. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const HOST_NAME = /^[a-z0-9_]([-a-z0-9_.]*[a-z0-9_])?$/;
const METHOD = /^[A-Za-z]{1,32}$/;

const isFilterField = (s: unknown): s is FilterField => typeof s === 'string' && (FILTER_FIELDS as readonly string[]).includes(s);

function bad(field: FilterField, value: string, what: string): FilterError {
  return new FilterError(`--${field} ${value === '' ? '""' : value}: ${what}`);
}

type Test = (flow: Flow) => boolean;

/** `ns/name` or `name` against an object reference. */
function objectMatcher(field: 'ingress' | 'service', value: string, get: (flow: Flow) => { namespace: string; name: string } | undefined): Test {
  const parts = value.split('/');
  const example = field === 'ingress' ? 'default/web' : 'default/web-svc';
  const valid = (parts.length === 1 && DNS_SUBDOMAIN.test(parts[0]!)) || (parts.length === 2 && DNS_LABEL.test(parts[0]!) && DNS_SUBDOMAIN.test(parts[1]!));
  if (!valid) throw bad(field, value, `not ${field === 'ingress' ? 'an Ingress' : 'a Service'}: write NAMESPACE/NAME or NAME, e.g. ${example} (lowercase)`);
  if (parts.length === 1) return (flow) => get(flow)?.name === value;
  const [namespace, name] = parts as [string, string];
  return (flow) => {
    const ref = get(flow);
    return ref !== undefined && ref.namespace === namespace && ref.name === name;
  };
}

/** A host as the flow has it, lowercased, without a trailing dot or `:port`. */
function normalHost(host: string): string {
  let h = host.toLowerCase();
  if (!h.startsWith('[')) h = h.replace(/:\d+$/, '');
  return h.replace(/\.$/, '');
}

function hostMatcher(field: 'host' | 'sni', value: string, get: (flow: Flow) => string | undefined): Test {
  const v = value.toLowerCase().replace(/\.$/, '');
  const wildcard = v.startsWith('*.');
  const rest = wildcard ? v.slice(2) : v;
  const ip = isIP(rest.replace(/^\[|\]$/g, '')) !== 0;
  if (!(HOST_NAME.test(rest) || (!wildcard && ip))) {
    throw bad(field, value, `not a host name: write a name such as web.example.com, or *.example.com for every name one label below it`);
  }
  if (!wildcard) return (flow) => {
    const h = get(flow);
    return h !== undefined && normalHost(h) === rest;
  };
  // As in an Ingress rule: `*.example.com` matches `a.example.com`, not `example.com` or `a.b.example.com`.
  const suffix = `.${rest}`;
  return (flow) => {
    const h = get(flow);
    if (h === undefined) return false;
    const n = normalHost(h);
    return n.endsWith(suffix) && n.length > suffix.length && !n.slice(0, -suffix.length).includes('.');
  };
}

function statusMatcher(value: string): Test {
  const exact = /^[1-5]\d\d$/.exec(value);
  if (exact) {
    const code = Number(value);
    return (flow) => flow.http?.status === code;
  }
  const cls = /^([1-5])(?:\+|xx|XX)$/.exec(value);
  if (cls) {
    const low = Number(cls[1]) * 100;
    return (flow) => flow.http !== undefined && flow.http.status >= low && flow.http.status < low + 100;
  }
  throw bad('http-status', value, 'not a status: write 404 or a class such as 5+');
}

function ipMatcher(value: string): Test {
  const list = new BlockList();
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = isIP(address);
  const example = 'write an address or a CIDR block, such as 10.0.0.5, 10.0.0.0/8 or fd00::/8';
  if (family === 0) throw bad('from-ip', value, `not an IP address: ${example}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) list.addAddress(address, type);
  else {
    const prefixText = value.slice(slash + 1);
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw bad('from-ip', value, `not a CIDR block: the prefix length must be a number from 0 to ${max}; ${example}`);
    }
    list.addSubnet(address, Number(prefixText), type);
  }
  return (flow) => {
    const ip = flow.source.ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    const fam = isIP(ip);
    if (fam === 0) return false;
    if (list.check(ip, fam === 4 ? 'ipv4' : 'ipv6')) return true;
    // An IPv4 client seen on a dual-stack socket: ::ffff:10.0.0.5.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    return mapped !== null && list.check(mapped[1]!, 'ipv4');
  };
}

/** One value of one filter, checked and made into a test. */
function valueMatcher(field: FilterField, value: string): Test {
  switch (field) {
    case 'namespace':
      if (!DNS_LABEL.test(value)) throw bad(field, value, 'not a namespace: write a lowercase name such as default or kube-system');
      return (flow) => flow.ingress?.namespace === value || flow.service?.namespace === value || flow.source.namespace === value;
    case 'ingress':
      return objectMatcher(field, value, (flow) => flow.ingress);
    case 'service':
      return objectMatcher(field, value, (flow) => flow.service);
    case 'host':
      return hostMatcher(field, value, (flow) => flow.host);
    case 'sni':
      return hostMatcher(field, value, (flow) => flow.tls?.sni || undefined);
    case 'verdict': {
      const v = value.toUpperCase();
      if (!(VERDICTS as readonly string[]).includes(v)) throw bad(field, value, `not a verdict: write one of ${VERDICTS.join(', ')}`);
      return (flow) => flow.verdict === v;
    }
    case 'http-status':
      return statusMatcher(value);
    case 'http-method': {
      if (!METHOD.test(value)) throw bad(field, value, 'not an HTTP method: write a method such as GET or POST');
      const m = value.toUpperCase();
      return (flow) => flow.http !== undefined && flow.http.method.toUpperCase() === m;
    }
    case 'http-path': {
      let re: RegExp;
      try {
        re = new RegExp(value);
      } catch (e) {
        throw bad(field, value, `not a regular expression (${e instanceof Error ? e.message : String(e)}): write a JavaScript regular expression such as ^/api/ (escape special characters with \\)`);
      }
      return (flow) => flow.http !== undefined && re.test(flow.http.path);
    }
    case 'from-ip':
      return ipMatcher(value);
  }
}

/** Checks every filter and value (throws FilterError) and gives the test that ANDs them. */
export function compileFilters(filters: readonly FlowFilter[]): (flow: Flow) => boolean {
  const tests = filters.map((f): Test => {
    if (!isFilterField(f.field)) throw new FilterError(`unknown filter field ${JSON.stringify(f.field)}: use one of ${FILTER_FIELDS.join(', ')}`);
    if (f.values.length === 0) throw new FilterError(`--${f.field}: give at least one value`);
    const alternatives = f.values.map((v) => valueMatcher(f.field, v));
    const any: Test = (flow) => alternatives.some((t) => t(flow));
    return f.negate ? (flow) => !any(flow) : any;
  });
  return (flow) => tests.every((t) => t(flow));
}

/**
 * Filters as the admin API receives them: `[{"field":"verdict","values":["DENIED"],"negate":false}]`.
 * Strict: no other keys, the right types, and every value valid (compileFilters' checks).
 */
export function parseFilterJson(text: string): FlowFilter[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FilterError(`filters: not JSON (${e instanceof Error ? e.message : String(e)}): send an array such as [{"field":"verdict","values":["DENIED"],"negate":false}]`);
  }
  if (!Array.isArray(doc)) throw new FilterError('filters: not an array: send an array such as [{"field":"verdict","values":["DENIED"],"negate":false}]');
  const filters = doc.map((item: unknown, i): FlowFilter => {
    const at = `filters[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new FilterError(`${at}: not an object: write {"field":…,"values":[…],"negate":false}`);
    const o = item as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (key !== 'field' && key !== 'values' && key !== 'negate') throw new FilterError(`${at}: unknown key ${JSON.stringify(key)}: only field, values and negate are allowed`);
    }
    if (!isFilterField(o['field'])) throw new FilterError(`${at}.field: ${JSON.stringify(o['field'] ?? null)} is not a filter field: use one of ${FILTER_FIELDS.join(', ')}`);
    const values = o['values'];
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) {
      throw new FilterError(`${at}.values: must be a non-empty array of strings`);
    }
    const negate = o['negate'] ?? false;
    if (typeof negate !== 'boolean') throw new FilterError(`${at}.negate: must be true or false`);
    return { field: o['field'], values: [...(values as string[])], negate };
  });
  compileFilters(filters);
  return filters;
}

/**
 * Takes the filter flags, and `--not` (which negates the next filter flag), out of a command line,
 * in order; gives the rest back for the command's own parser. Values are repeated
 * (`--verdict DENIED --verdict ERROR`) or comma-separated (`--verdict DENIED,ERROR`), except
 * `--http-path`'s, a regular expression, never split. Flags of one field and sense make one
 * filter (its values OR'd). Scanning stops at `--`. Values are checked by compileFilters.
 */
export function filtersFromArgs(argv: readonly string[]): { filters: FlowFilter[]; rest: string[] } {
  const filters: FlowFilter[] = [];
  const rest: string[] = [];
  let negateNext: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^--([a-z-]+)(?:=([\s\S]*))?$/.exec(arg);
    const name = m?.[1];
    if (name === 'not') {
      if (m![2] !== undefined) throw new FilterError(`--not takes no value: write --not --verdict DENIED`);
      if (negateNext !== undefined) throw new FilterError('--not given twice in a row: write --not once, before the filter flag it negates');
      negateNext = arg;
      continue;
    }
    if (name === undefined || !isFilterField(name)) {
      if (negateNext !== undefined) throw new FilterError(`--not must come right before a filter flag (--${FILTER_FIELDS.join(', --')}); got ${arg}`);
      rest.push(arg);
      continue;
    }
    let value = m![2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--') || /^-[A-Za-z]$/.test(next)) {
        throw new FilterError(`--${name} needs a value: --${name} VALUE${next !== undefined ? ` (got the flag ${next}; write --${name}=VALUE for a value that starts with '-')` : ''}`);
      }
      value = next;
      i++;
    }
    // a regular expression is taken whole, spaces included; other values are split and trimmed
    const values = name === 'http-path' ? [value] : value.split(',').map((v) => v.trim());
    if (values.some((v) => v.trim() === '')) throw new FilterError(`--${name} ${JSON.stringify(value)}: an empty value: write --${name} A or --${name} A,B`);
    const negate = negateNext !== undefined;
    negateNext = undefined;
    const same = filters.find((f) => f.field === name && f.negate === negate);
    if (same) same.values.push(...values);
    else filters.push({ field: name, values, negate });
  }
  if (negateNext !== undefined) throw new FilterError('--not at the end: put it right before the filter flag it negates, e.g. --not --verdict FORWARDED');
  return { filters, rest };
}

/** Flows from `since` to `until`, both inclusive (either may be absent). */
export function timeFilter(since?: Date, until?: Date): (flow: Flow) => boolean {
  if (since === undefined && until === undefined) return () => true;
  const low = since?.getTime() ?? -Infinity;
  const high = until?.getTime() ?? Infinity;
  return (flow) => {
    const t = Date.parse(flow.time);
    return !Number.isNaN(t) && t >= low && t <= high;
  };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A time for --since/--until: RFC 3339 (`2024-12-02T20:01:02Z`, `…+01:00`), or a duration meaning
 * that long before `now` (`30s`, `5m`, `2h`, `1h30m`, `ms` and `d` too).
 */
export function parseTime(flagName: string, value: string, now: Date): Date {
  const flag = flagName.startsWith('-') ? flagName : `--${flagName}`;
  const help = 'write an RFC 3339 time such as 2024-12-02T20:01:02Z, or how long ago such as 30s, 5m or 2h';
  if (RFC3339.test(value)) {
    // Fractions beyond milliseconds: Date.parse takes only three digits.
    const t = Date.parse(value.replace(/(\.\d{3})\d+/, '$1').replace(' ', 'T'));
    if (Number.isNaN(t)) throw new FilterError(`${flag} ${value}: not a valid date: ${help}`);
    return new Date(t);
  }
  if (/^(\d+(ms|s|m|h|d))+$/.test(value)) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * UNIT_MS[unit!]!;
    if (!Number.isSafeInteger(ms)) throw new FilterError(`${flag} ${value}: too long ago: ${help}`);
    return new Date(now.getTime() - ms);
  }
  throw new FilterError(`${flag} ${value === '' ? '""' : value}: not a time: ${help}`);
}
