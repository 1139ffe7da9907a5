import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AdminHandler } from './server.js';

/**
 * Where the page is: tsc does not copy it, so it is read from the source tree, relative to this
 * module (dist/src/admin/dashboard.js → src/admin/dashboard/). package.json "files" and the
 * Dockerfile carry src/admin/dashboard/ for that.
 */
const DASHBOARD_DIR = fileURLToPath(new URL('../../../src/admin/dashboard/', import.meta.url));

const ASSETS = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/dashboard.js', 'dashboard.js', 'text/javascript; charset=utf-8'],
  ['/dashboard.css', 'dashboard.css', 'text/css; charset=utf-8'],
] as const;

/**
 * The page may load only its own script and style and talk only to its own origin (no inline code,
 * no frames, no forms sent anywhere): flows carry client-written hosts and paths.
 */
const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The dashboard's files as admin handlers, by path: the page at `/`, its script and its style. Read once. */
export function dashboardHandlers(): Record<string, AdminHandler> {
  return Object.fromEntries(ASSETS.map(([path, file, type]) => {
    const body = readFileSync(DASHBOARD_DIR + file);
    const handler: AdminHandler = (req, res) => {
      res.writeHead(200, { ...HEADERS, 'content-type': type, 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
    };
    return [path, handler];
  }));
}
