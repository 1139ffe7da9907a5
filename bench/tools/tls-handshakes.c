/*
 * tls-handshakes: a TLS handshake load generator for bench/tls.ts.
 *
 *   tls-handshakes HOST PORT SNI VERSION MODE SECONDS PROCESSES
 *
 * VERSION is 1.2 or 1.3; MODE is "new" (a full handshake on every connection) or "reuse" (resume the
 * session of the previous connection). Each of PROCESSES forked clients connects to HOST:PORT over
 * and over for SECONDS: TCP connect, TLS handshake with SNI, one "GET /" with "Connection: close", the
 * response read to its end (which also brings TLS 1.3 session tickets), close. Certificates are not
 * verified. Prints one JSON line: {"handshakes":N,"resumed":N,"errors":N,"seconds":S,"clientCpuSeconds":C}.
 *
 * openssl s_time does the same without SNI, and Node's and Python's TLS clients spend several times
 * more CPU per handshake than the server does, which on a shared 2-core machine hides the server.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One connection; returns 1 resumed, 0 full, -1 error. Keeps the session for the next one in *session. */
static int one(SSL_CTX *ctx, struct sockaddr_in *addr, const char *sni, int reuse, SSL_SESSION **session) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one_ = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
  if (connect(fd, (struct sockaddr *)addr, sizeof *addr) != 0) {
    close(fd);
    return -1;
  }
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, sni);
  if (reuse && *session) SSL_set_session(ssl, *session);
  int result = -1;
  if (SSL_connect(ssl) == 1) {
    char req[512];
    int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", sni);
    if (SSL_write(ssl, req, n) == n) {
      char buf[16384];
      int got = 0, r;
      while ((r = SSL_read(ssl, buf, sizeof buf)) > 0) got += r;
      if (got > 0) {
        result = SSL_session_reused(ssl) ? 1 : 0;
        if (reuse) {
          SSL_SESSION *s = SSL_get1_session(ssl);
          if (s) {
            if (*session) SSL_SESSION_free(*session);
            *session = s;
          }
        }
      }
    }
  }
  ERR_clear_error();
  SSL_set_quiet_shutdown(ssl, 1); /* marks the session clean (resumable) without a close_notify round trip */
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  return result;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s HOST PORT SNI 1.2|1.3 new|reuse SECONDS PROCESSES\n", argv[0]);
    return 2;
  }
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    fprintf(stderr, "bad address %s\n", argv[1]);
    return 2;
  }
  const char *sni = argv[3];
  int version = strcmp(argv[4], "1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION;
  int reuse = strcmp(argv[5], "reuse") == 0;
  double seconds = atof(argv[6]);
  int procs = atoi(argv[7]);
  if (procs < 1 || seconds <= 0) return 2;

  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);

  int pipes[64][2];
  if (procs > 64) procs = 64;
  double start = now();
  for (int p = 0; p < procs; p++) {
    if (pipe(pipes[p]) != 0) return 1;
    if (fork() == 0) {
      long counts[3] = {0, 0, 0}; /* handshakes, resumed, errors */
      SSL_SESSION *session = NULL;
      double end = start + seconds;
      while (now() < end) {
        int r = one(ctx, &addr, sni, reuse, &session);
        if (r < 0) counts[2]++;
        else {
          counts[0]++;
          counts[1] += r;
        }
      }
      if (write(pipes[p][1], counts, sizeof counts) != sizeof counts) _exit(1);
      _exit(0);
    }
    close(pipes[p][1]);
  }
  long total[3] = {0, 0, 0};
  for (int p = 0; p < procs; p++) {
    long counts[3];
    if (read(pipes[p][0], counts, sizeof counts) == sizeof counts)
      for (int i = 0; i < 3; i++) total[i] += counts[i];
    else
      total[2]++;
  }
  while (wait(NULL) > 0) {
  }
  double elapsed = now() - start;
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("{\"handshakes\":%ld,\"resumed\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"clientCpuSeconds\":%.3f}\n", total[0], total[1], total[2], elapsed, cpu);
  return 0;
}
