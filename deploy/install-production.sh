#!/bin/sh
# The production dependencies of the images' workspaces (npm ci --omit=dev), used by both
# Containerfiles' `deps` stage. No install script runs: the images need none (onnxruntime-node's CPU
# runtime and sharp's libvips come prebuilt in their packages; the GPU variant fetches its provider
# explicitly). Packages come from the building machine's npm cache when `npm run images` mounts it
# at /npm-cache (podman), else from the registry through the build's cache mount. A CA bundle passed
# as the build secret `npm_ca` is trusted for the registry (hospital proxies that intercept TLS);
# it never lands in an image layer.
set -eu
if [ -s /run/secrets/npm_ca ]; then export NPM_CONFIG_CAFILE=/run/secrets/npm_ca; fi
if [ -d /npm-cache/_cacache ]; then set -- --cache /npm-cache --prefer-offline "$@"; fi
exec npm ci --omit=dev --ignore-scripts --no-audit --no-fund "$@"
