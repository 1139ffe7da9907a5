import { runToEnd } from './procs.js';

/** Private-key signatures per second on one core, from `openssl speed`: the bound of a full handshake. */
export interface SignSpeed {
  rsa2048: number;
  ecdsap256: number;
}

export async function opensslSpeed(seconds: number): Promise<SignSpeed> {
  const { stdout } = await runToEnd('openssl', ['speed', '-seconds', String(seconds), 'rsa2048', 'ecdsap256'], (seconds * 4 + 60) * 1000);
  return parseSpeed(stdout);
}

/** The sign/s column of `openssl speed`'s RSA and ECDSA tables. */
export function parseSpeed(out: string): SignSpeed {
  const rsa = /^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+[\d.]+\s*$/m.exec(out);
  const ec = /^\s*256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+[\d.]+\s*$/m.exec(out);
  if (!rsa || !ec) throw new Error(`openssl speed printed no rsa2048/ecdsap256 sign rate:\n${out.slice(-1500)}`);
  return { rsa2048: Number(rsa[1]), ecdsap256: Number(ec[1]) };
}
