# syntax=docker/dockerfile:1
# The Gatehouse image: Node.js 20 and HAProxy from Debian bookworm, running as uid 10001.
#
#   docker build -t gatehouse:0.1.0 .
#
# The same image runs every command: `gatehouse controller` (the default), `gatehouse run`,
# `gatehouse check` and `gatehouse device-plugin`.

# --- build: compile TypeScript, then keep only the production dependencies -----------------------
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Only src/ is copied, so only dist/src is built (the tests are not part of the image).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime ------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
# haproxy: the data plane (bookworm has 2.6, the oldest Gatehouse supports).
# openssl: generates the self-signed default certificate. ca-certificates: verifying the API server
# and HTTPS backends. tini: PID 1, reaps HAProxy processes orphaned when a master dies and forwards
# signals to node.
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy openssl ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin gatehouse \
 && mkdir -p /var/lib/gatehouse \
 && chown 10001:10001 /var/lib/gatehouse
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# The device plugin reads its gRPC API (.proto) at run time, relative to dist/src/deviceplugin/.
COPY --from=build /src/src/deviceplugin/proto ./src/deviceplugin/proto
# The admin port's dashboard page, read at run time relative to dist/src/admin/.
COPY --from=build /src/src/admin/dashboard ./src/admin/dashboard
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080 8443 9180
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli/main.js"]
CMD ["controller", "--state-dir=/var/lib/gatehouse"]
