#!/usr/bin/env bash
# Tests of the Make custom app: static checks of the definition, then every
# request it describes against a real hub built from this repository.
# Needs Go (to build the hub) and Node.js 20 or newer.
set -euo pipefail
cd "$(dirname "$0")"

node -e 'const [maj] = process.versions.node.split(".").map(Number); if (maj < 20) { console.error(`Node.js 20 or newer is needed, found ${process.version}`); process.exit(1); }'

# Install the pinned dependencies when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm test
