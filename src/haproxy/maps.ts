import type { Model, Route } from '../model/types.js';

/**
 * The routing tables as HAProxy maps. A request is routed in three steps (see render.ts):
 * 1. its virtual host: the exact host if `hosts` has it, else its one-label wildcard, else `*`;
 * 2. the key `<vhost><path>`: looked up in `exact` (map_str), then in `prefix` (map_beg, which
 *    HAProxy answers with the longest matching key), then the vhost in `default`;
 * 3. the value `<flags>:<backend>:<rule>` names the backend; flag `R` redirects plain HTTP to HTTPS;
 *    the rule (`E<path>`, `P<path>` or `D`) is the path rule that matched, for the flow log only.
 *
 * A Prefix path `/foo` matches element by element: it becomes the exact key `/foo` and the prefix
 * key `/foo/`, so `/foo`, `/foo/` and `/foo/bar` match and `/foobar` does not. An Exact route wins
 * over a Prefix route of the same path because `exact` is looked up first, and a Prefix `/` is the
 * prefix key `/` alone.
 */
export interface RouteMaps {
  hosts: Array<[string, string]>;
  exact: Array<[string, string]>;
  prefix: Array<[string, string]>;
  default: Array<[string, string]>;
}

export type MapName = keyof RouteMaps;

export const MAP_NAMES: readonly MapName[] = ['hosts', 'exact', 'prefix', 'default'];

export function routeValue(route: Route): string {
  return `${route.redirectToHttps ? 'R' : '-'}:${route.backend}:${route.pathType[0]}${route.path}`;
}

/** The parts of a route value as HAProxy logs it (`var(txn.route)`); undefined for anything else. */
export function parseRouteValue(value: string): { backend: string; rule: { pathType: Route['pathType']; path: string } } | undefined {
  const m = /^[R-]:([^:]+):([EPD])(.*)$/s.exec(value);
  if (!m) return undefined;
  const pathType = ({ E: 'Exact', P: 'Prefix', D: 'Default' } as const)[m[2] as 'E' | 'P' | 'D'];
  return { backend: m[1]!, rule: { pathType, path: m[3]! } };
}

export function buildMaps(model: Pick<Model, 'routes'>): RouteMaps {
  const hosts = new Map<string, string>();
  const exact = new Map<string, string>();
  const exactFromPrefix = new Map<string, string>();
  const prefix = new Map<string, string>();
  const defaults = new Map<string, string>();
  for (const route of model.routes) {
    if (route.host !== '*') hosts.set(route.host, route.host);
    const value = routeValue(route);
    switch (route.pathType) {
      case 'Exact':
        exact.set(route.host + route.path, value);
        break;
      case 'Prefix':
        if (route.path === '/') {
          prefix.set(`${route.host}/`, value);
        } else {
          exactFromPrefix.set(route.host + route.path, value);
          prefix.set(`${route.host}${route.path}/`, value);
        }
        break;
      case 'Default':
        defaults.set(route.host, value);
        break;
    }
  }
  for (const [key, value] of exactFromPrefix) if (!exact.has(key)) exact.set(key, value);
  return { hosts: sorted(hosts), exact: sorted(exact), prefix: sorted(prefix), default: sorted(defaults) };
}

function sorted(m: Map<string, string>): Array<[string, string]> {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function mapFileText(entries: ReadonlyArray<readonly [string, string]>): string {
  return entries.map(([k, v]) => `${k} ${v}\n`).join('');
}
