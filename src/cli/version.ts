import { readFileSync } from 'node:fs';

/** The package's version, from package.json. */
export function version(): string {
  // dist/src/cli/version.js → the package root, in the repository and in the installed package.
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
