/** Host names of Ingress rules and TLS entries. */
import { isIP } from 'node:net';
import { isDns1123Subdomain } from '../store/names.js';
import { quote } from './json.js';
import type { Parsed } from './values.js';

function isDnsName(h: string): boolean {
  return isDns1123Subdomain(h) && h.split('.').every((l) => l.length <= 63) && isIP(h) === 0;
}

/**
 * A rule or TLS host: lowercased, then a DNS-1123 subdomain or `*.` followed by one. Not an IP
 * address, no port, no `*` anywhere else.
 */
export function parseHost(v: unknown): Parsed<string> {
  if (typeof v !== 'string') return { ok: false, error: `host must be a string, not ${quote(v)}: write a DNS name such as www.example.com` };
  const h = v.toLowerCase();
  const help = 'write a DNS name such as www.example.com, or *.example.com for a wildcard (leave host out to match every host)';
  if (h === '*') return { ok: false, error: `"*" is not a valid host: ${help}` };
  if (isIP(h) !== 0) return { ok: false, error: `${quote(v)} is an IP address, not a DNS name: ${help}` };
  if (h.startsWith('*.')) {
    if (isDnsName(h.slice(2)) && h.length <= 253) return { ok: true, value: h };
    return { ok: false, error: `${quote(v)} is not a valid wildcard host: ${help}` };
  }
  if (isDnsName(h)) return { ok: true, value: h };
  let why = 'is not a valid host';
  if (h.includes('*')) why = 'has "*" somewhere other than a leading "*."';
  else if (h.includes(':')) why = 'has a port or is an IPv6 address; ports are not part of an Ingress host';
  else if (h.includes('/')) why = 'has a "/"; a host has no scheme or path';
  return { ok: false, error: `${quote(v)} ${why}: ${help}` };
}

/** A name for TLS server name checks: a DNS name, no wildcard. */
export function parseServerName(s: string): Parsed<string> {
  const h = s.toLowerCase();
  if (isDnsName(h)) return { ok: true, value: h };
  return { ok: false, error: `${quote(s)} is not a host name: write a DNS name such as api.internal.example.com` };
}

/** Does `pattern` (an exact host or `*.` wildcard) cover `host`? A wildcard covers one label. */
export function hostCovers(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.startsWith('*.') || host === '*' || host.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
}
