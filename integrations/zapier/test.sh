#!/usr/bin/env bash
# Tests of the Zapier app: installs the pinned dependencies when node_modules
# is missing or was installed from another package-lock.json, then runs jest,
# which builds the hub from this repository, starts it on loopback and runs
# the app against it. Needs Node.js >= 18.20, npm and Go. The exit code is
# jest's.
set -euo pipefail
cd "$(dirname "$0")"

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.installed-lock-sha256
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  echo "npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > "$stamp"
fi

npm test -- "$@"
