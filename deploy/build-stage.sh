#!/bin/sh
# Shared by both Containerfiles' build stage: install every dependency (the build needs TypeScript,
# Vite and Prisma's generator), then compile. A CA bundle passed as the build secret `npm_ca` is
# used for the registry (hospital proxies that intercept TLS); it never lands in an image layer.
set -eu
if [ -s /run/secrets/npm_ca ]; then export NPM_CONFIG_CAFILE=/run/secrets/npm_ca; fi
case "$1" in
  install) npm ci --no-audit --no-fund ;;
  install-production) npm ci --omit=dev --no-audit --no-fund --workspace "$2" ;;
  *) echo "usage: build-stage.sh install | install-production WORKSPACE" >&2; exit 2 ;;
esac
