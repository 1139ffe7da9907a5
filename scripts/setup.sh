#!/usr/bin/env bash
# Installs what Gatehouse needs and is missing: HAProxy, openssl and curl from Debian, npm packages.
# With --bench, also the benchmarks' load generators and references (h2load, wrk, nginx, a C compiler and
# OpenSSL's headers for bench/tools/); with --test, those (CI runs every benchmark briefly) and the
# software TPM stack and Chromium for the dashboard test.
set -euo pipefail
cd "$(dirname "$0")/.."
tests=false
bench=false
[ "${1:-}" = "--test" ] && tests=true && bench=true
[ "${1:-}" = "--bench" ] && bench=true

missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if $bench; then
  command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  command -v nginx >/dev/null 2>&1 || missing+=(nginx)
  command -v cc >/dev/null 2>&1 || missing+=(gcc)
  [ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
fi
if $tests; then
  # The TPM provider tests (test/crypto/tpm-provider.test.ts): a software TPM (swtpm), the TPM access
  # broker and resource manager on a private D-Bus (tpm2-abrmd, dbus-daemon, dbus-send, the tabrmd
  # TCTI), the OpenSSL 3 provider (tpm2-openssl's tpm2.so in OpenSSL's MODULESDIR) and tpm2-tools.
  command -v swtpm >/dev/null 2>&1 || missing+=(swtpm swtpm-tools)
  command -v tpm2-abrmd >/dev/null 2>&1 || missing+=(tpm2-abrmd)
  command -v tpm2_getcap >/dev/null 2>&1 || missing+=(tpm2-tools)
  command -v dbus-daemon >/dev/null 2>&1 || missing+=(dbus-daemon)
  command -v dbus-send >/dev/null 2>&1 || missing+=(dbus-bin)
  ossl_modules=$(openssl version -m 2>/dev/null | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p' || true)
  ossl_modules=${ossl_modules:-/usr/lib/$(uname -m)-linux-gnu/ossl-modules}
  [ -f "$ossl_modules/tpm2.so" ] || missing+=(tpm2-openssl)
  [ -f "${ossl_modules%/ossl-modules}/libtss2-tcti-tabrmd.so.0" ] || missing+=(libtss2-tcti-tabrmd0)
  # The dashboard test (test/e2e/dashboard.test.ts) drives Debian's Chromium with playwright-core.
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing ${missing[*]}: install them with your package manager (Debian: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm ci when node_modules is absent or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# kubectl renders deploy/ (kubectl kustomize) in the tests. It is not installed here: Debian 12's
# kubernetes-client (1.20) is too old for Kustomize v5 manifests and npm has no kubectl.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: kubectl (1.27 or newer) is missing: the deploy/ tests will fail until it is installed from the Kubernetes packages" >&2
fi
