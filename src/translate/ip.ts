/** IP addresses and CIDRs: strict parsing into bytes and one canonical text form. */
import { isIP } from 'node:net';

/** The address as 4 (IPv4) or 16 (IPv6) bytes, or null. No zones, no leading zeros in IPv4. */
export function parseIp(s: string): Uint8Array | null {
  if (typeof s !== 'string' || s.length === 0 || s.length > 45 || s.includes('%')) return null;
  const family = isIP(s);
  if (family === 4) return parseV4(s);
  if (family === 6) return parseV6(s);
  return null;
}

function parseV4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseGroups(s: string): number[] | null {
  if (s === '') return [];
  const groups: number[] = [];
  const parts = s.split(':');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === parts.length - 1 && p.includes('.')) {
      const v4 = parseV4(p);
      if (!v4) return null;
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      groups.push(parseInt(p, 16));
    }
  }
  return groups;
}

function parseV6(s: string): Uint8Array | null {
  const halves = s.split('::');
  if (halves.length > 2) return null;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]!);
    const tail = parseGroups(halves[1]!);
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s);
    if (!all || all.length !== 8) return null;
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Canonical text: dotted decimal for IPv4; RFC 5952 for IPv6 (lowercase, longest zero run as `::`). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]!}.${b[1]!}.${b[2]!}.${b[3]!}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
/** An IPv4 address already in canonical form (no leading zeros): what parseIp and formatIp would give back unchanged. */
const CANONICAL_V4 = new RegExp(`^(?:${OCTET}\\.){3}${OCTET}$`);

/**
 * The canonical form of an IP address, or null if it is not one. An IPv4 address written canonically
 * (as EndpointSlices hold them, by the thousand) is returned as it is, without being parsed.
 */
export function canonicalIp(s: string): string | null {
  if (typeof s === 'string' && CANONICAL_V4.test(s)) return s;
  const b = parseIp(s);
  return b ? formatIp(b) : null;
}

/** `addr` or `addr/prefix` → canonical `network/prefix` (host bits cleared), or null. */
export function canonicalCidr(s: string): string | null {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const b = parseIp(addr);
  if (!b) return null;
  const max = b.length * 8;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  for (let bit = prefix; bit < max; bit++) {
    const i = bit >> 3;
    b[i] = b[i]! & ~(0x80 >> (bit & 7));
  }
  return `${formatIp(b)}/${prefix}`;
}
