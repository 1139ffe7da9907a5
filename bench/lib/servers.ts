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
 * by default (rootfs/etc/nginx/template/nginx.tmpl with the defaults of
 * internal/ingress/controller/config/config.go), proxying every request to `upstreamPort`. What Debian's
 * nginx cannot do is left out: the Lua hooks of every request (balancer_by_lua picking the endpoint,
 * rewrite/access/log_by_lua for metrics) and headers-more (HSTS is set with add_header instead). The access
 * log, on by default in ingress-nginx (its `upstreaminfo` format to /var/log/nginx/access.log, i.e. the
 * container's stdout), is written to a file in a temp dir with `accessLog`, and is off otherwise.
 * `keepaliveRequests` replaces ingress-nginx's keep-alive-requests (1000): at that count nginx closes an
 * HTTP/1.1 connection and sends GOAWAY on an HTTP/2 one, whose streams already sent h2load counts as errors.
 */
export async function startReferenceNginx(httpsPort: number, upstreamPort: number, cert: CertFiles, opts: { accessLog?: boolean; keepaliveRequests?: number } = {}): Promise<Server> {
  const logDir = opts.accessLog ? mkdtempSync(join(tmpdir(), 'gh-nginx-log-')) : undefined;
  const server = await startNginx([
    '  aio threads; aio_write on;',
    '  tcp_nopush on; tcp_nodelay on;',
    '  log_subrequest on;',
    '  reset_timedout_connection on;',
    `  keepalive_timeout 75s; keepalive_requests ${opts.keepaliveRequests ?? 1000};`,
    '  client_header_buffer_size 1k; client_header_timeout 60s; large_client_header_buffers 4 8k;',
    '  client_body_buffer_size 8k; client_body_timeout 60s;',
    '  http2_max_concurrent_streams 128;',
    '  server_tokens off;',
    '  underscores_in_headers off; ignore_invalid_headers on;',
    // access_log off (startNginx) holds at the http level; the server below turns it on with `accessLog`
    `  log_format upstreaminfo '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id';`,
    "  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }",
    "  map $http_x_request_id $req_id { default $http_x_request_id; '' $request_id; }",
    '  ssl_protocols TLSv1.2 TLSv1.3;',
    '  ssl_session_cache builtin:1000 shared:SSL:10m; ssl_session_timeout 10m; ssl_session_tickets off;',
    '  ssl_buffer_size 4k;',
    '  ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384;',
    '  ssl_prefer_server_ciphers on; ssl_ecdh_curve auto;',
    '  proxy_ssl_session_reuse on;',
    `  upstream upstream_balancer { server 127.0.0.1:${upstreamPort}; keepalive 320; keepalive_time 1h; keepalive_timeout 60s; keepalive_requests 10000; }`,
    `  server { listen 127.0.0.1:${httpsPort} ssl http2 reuseport backlog=4096;`,
    '    server_name bench.local;',
    `    ssl_certificate ${cert.cert}; ssl_certificate_key ${cert.key};`,
    ...(logDir ? [`    access_log ${join(logDir, 'access.log')} upstreaminfo;`] : []),
    '    location / {',
    '      set $proxy_upstream_name "default-backend-80"; set $proxy_alternative_upstream_name "";',
    '      add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;',
    '      port_in_redirect off;',
    '      client_max_body_size 1m;',
    '      proxy_set_header Host $http_host;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $connection_upgrade;',
    '      proxy_set_header X-Request-ID $req_id;',
    '      proxy_set_header X-Real-IP $remote_addr;',
    '      proxy_set_header X-Forwarded-For $remote_addr;',
    '      proxy_set_header X-Forwarded-Host $http_host;',
    '      proxy_set_header X-Forwarded-Port $server_port;',
    '      proxy_set_header X-Forwarded-Proto $scheme;',
    '      proxy_set_header X-Forwarded-Scheme $scheme;',
    '      proxy_set_header X-Scheme $scheme;',
    '      proxy_set_header X-Original-Forwarded-For $http_x_forwarded_for;',
    '      proxy_set_header Proxy "";',
    '      proxy_connect_timeout 5s; proxy_send_timeout 60s; proxy_read_timeout 60s;',
    '      proxy_buffering off; proxy_buffer_size 4k; proxy_buffers 4 4k; proxy_max_temp_file_size 1024m; proxy_request_buffering on;',
    '      proxy_http_version 1.1;',
    '      proxy_cookie_domain off; proxy_cookie_path off;',
    '      proxy_next_upstream error timeout; proxy_next_upstream_tries 3;',
    '      proxy_redirect off;',
    '      proxy_pass http://upstream_balancer;',
    '    }',
    '  }',
  ].join('\n'), [httpsPort]);
  return {
    workerPids: () => server.workerPids(),
    async stop() {
      await server.stop();
      if (logDir) rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/**
 * HAProxy with a hand-written minimal configuration: one TLS bind, one backend, the same TLS settings
 * as the gateway renders. What HAProxy costs without the gateway's routing rules.
 */
export async function startMinimalHaproxy(httpsPort: number, upstreamPort: number, cert: CertFiles, opts: { tls12Ciphers: string; tls13Suites: string; httpReuse?: 'safe' | 'always' }): Promise<Server> {
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
    `  http-reuse ${opts.httpReuse ?? 'safe'}`,
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
