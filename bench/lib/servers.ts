import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { waitFor } from '../../test/helpers/wait.js';
import { childPids, startProcess, type Running } from './procs.js';

/** A certificate and key on disk, as nginx wants them, and both in one file, as HAProxy wants them. */
export interface CertFiles {
  cert: string;
  key: string;
  pem: string;
}

export interface Server {
  /** The pids doing the work (nginx workers, the HAProxy process), for CPU and memory figures. */
  workerPids(): number[];
  stop(): Promise<void>;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export function waitForPort(port: number, timeoutMs = 10_000, proc?: Running): Promise<void> {
  return waitFor(async () => {
    if (proc && proc.child.exitCode !== null) throw new Error(`process exited: ${proc.output()}`);
    return new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  }, timeoutMs, `a listener on 127.0.0.1:${port}`);
}

/** 16 KiB of text, the large response of the benchmarks. */
export const LARGE_BODY = 'x'.repeat(16 * 1024);

/**
 * nginx from Debian in the foreground with `http` as its http{} block; everything it writes stays in a
 * temp dir. `ports` are waited for.
 */
export async function startNginx(http: string, ports: number[], opts: { workers?: number | 'auto' } = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, [
    'daemon off;',
    'master_process on;',
    `worker_processes ${opts.workers ?? 'auto'};`,
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'logs', 'error.log')} warn;`,
    'worker_rlimit_nofile 65536;',
    'events { worker_connections 16384; multi_accept on; use epoll; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${join(dir, 'body')};`,
    `  proxy_temp_path ${join(dir, 'proxy')};`,
    `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
    `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
    `  scgi_temp_path ${join(dir, 'scgi')};`,
    http,
    '}',
    '',
  ].join('\n'));
  const proc = startProcess('nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'logs', 'error.log')]);
  try {
    for (const port of ports) await waitForPort(port, 10_000, proc);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return {
    workerPids: () => childPids(proc.pid),
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The backend of every benchmark: nginx with one worker answering `/` with 2 bytes and `/16k` with 16 KiB
 * from memory, on `httpPort`, and the same over TLS and HTTP/2 on `httpsPort` (the direct reference).
 */
export async function startBackend(httpPort: number, httpsPort: number, cert: CertFiles): Promise<Server> {
  // nginx's `return` takes at most 4 KiB of text: the large answer is a file (served from the page cache).
  const docroot = mkdtempSync(join(tmpdir(), 'gh-backend-'));
  writeFileSync(join(docroot, '16k'), LARGE_BODY, { mode: 0o644 });
  // mkdtemp makes the dir 0700; nginx started as root runs its workers as nobody, who must read it.
  chmodSync(docroot, 0o755);
  const locations = [`    location = /16k { default_type text/plain; root ${docroot}; }`, '    location / { default_type text/plain; return 200 "ok"; }'];
  const server = await startNginx([
    '  keepalive_requests 1000000;',
    '  keepalive_timeout 75s;',
    `  server { listen 127.0.0.1:${httpPort} reuseport;`,
    ...locations,
    '  }',
    `  server { listen 127.0.0.1:${httpsPort} ssl http2;`,
    `    ssl_certificate ${cert.cert}; ssl_certificate_key ${cert.key};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    ...locations,
    '  }',
  ].join('\n'), [httpPort, httpsPort], { workers: 1 });
  return {
    workerPids: () => server.workerPids(),
    async stop() {
      await server.stop();
      rmSync(docroot, { recursive: true, force: true });
    },
  };
}

/**
 * nginx as an ingress: the TLS, HTTP/2, keep-alive, proxy and header settings that ingress-nginx renders
 * by default (its nginx.tmpl and configmap defaults), proxying every request to `upstreamPort`.
 */
export async function startReferenceNginx(httpsPort: number, upstreamPort: number, cert: CertFiles): Promise<Server> {
  return startNginx([
    '  sendfile on; tcp_nopush on; tcp_nodelay on;',
    '  keepalive_timeout 75s; keepalive_requests 1000;',
    '  client_header_buffer_size 1k; large_client_header_buffers 4 8k;',
    '  http2_max_concurrent_streams 128;',
    '  reset_timedout_connection on;',
    '  ssl_protocols TLSv1.2 TLSv1.3;',
    '  ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384;',
    '  ssl_prefer_server_ciphers on; ssl_ecdh_curve auto;',
    '  ssl_session_cache shared:SSL:10m; ssl_session_timeout 10m; ssl_session_tickets off;',
    '  ssl_buffer_size 4k;',
    `  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 320; keepalive_timeout 60s; keepalive_requests 10000; }`,
    `  server { listen 127.0.0.1:${httpsPort} ssl http2 reuseport backlog=4096;`,
    '    server_name bench.local;',
    `    ssl_certificate ${cert.cert}; ssl_certificate_key ${cert.key};`,
    '    location / {',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_set_header Host $host;',
    '      proxy_set_header X-Request-ID $request_id;',
    '      proxy_set_header X-Real-IP $remote_addr;',
    '      proxy_set_header X-Forwarded-For $remote_addr;',
    '      proxy_set_header X-Forwarded-Host $host;',
    '      proxy_set_header X-Forwarded-Port $server_port;',
    '      proxy_set_header X-Forwarded-Proto $scheme;',
    '      proxy_set_header X-Scheme $scheme;',
    '      proxy_connect_timeout 5s; proxy_send_timeout 60s; proxy_read_timeout 60s;',
    '      proxy_buffering off; proxy_buffer_size 4k; proxy_buffers 4 4k; proxy_request_buffering on;',
    '      proxy_pass http://backend;',
    '    }',
    '  }',
  ].join('\n'), [httpsPort]);
}

/**
 * HAProxy with a hand-written minimal configuration: one TLS bind, one backend, the same TLS settings
 * as the gateway renders. What HAProxy costs without the gateway's routing rules.
 */
export async function startMinimalHaproxy(httpsPort: number, upstreamPort: number, cert: CertFiles, opts: { tls12Ciphers: string; tls13Suites: string }): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-haproxy-min-'));
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(conf, [
    'global',
    '  ssl-default-bind-options ssl-min-ver TLSv1.2',
    `  ssl-default-bind-ciphers ${opts.tls12Ciphers}`,
    `  ssl-default-bind-ciphersuites ${opts.tls13Suites}`,
    '  tune.ssl.cachesize 100000',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout connect 5s',
    'frontend fe',
    `  bind 127.0.0.1:${httpsPort} ssl crt ${cert.pem} alpn h2,http/1.1`,
    '  default_backend be',
    'backend be',
    `  server s1 127.0.0.1:${upstreamPort}`,
    '',
  ].join('\n'));
  const proc = startProcess('haproxy', ['-db', '-f', conf]);
  try {
    await waitForPort(httpsPort, 10_000, proc);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return {
    workerPids: () => [proc.pid],
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
