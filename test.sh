#!/usr/bin/env bash
# The test command of the README: formatting, vet, and every test with the race
# detector. SQL tests run on SQLite and on PostgreSQL (HUB_TEST_POSTGRES_URL,
# default postgres://postgres@127.0.0.1:5432/test); Redis tests use
# HUB_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) or an embedded server.
set -euo pipefail
cd "$(dirname "$0")"
echo "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "go vet"
go vet ./...
go vet -tags bench ./cmd/hub  # the benchmarks that run provider fakes
# The Zapier and Make apps are tested against a real hub on loopback.
for app in integrations/*/; do
  [ -f "$app/test.sh" ] || continue
  if command -v node >/dev/null && command -v npm >/dev/null; then
    echo "integration tests: $app"
    # A hung app test (a hub child that never exits, a stuck npm) fails
    # after 15 minutes instead of holding CI; timeout kills its process group.
    rc=0
    timeout --kill-after=30s 15m bash "$app/test.sh" || rc=$?
    # A hub the app's tests started and did not stop would hold CI open.
    pkill -KILL -f '/hub dev --addr 127\.0\.0\.1:' 2>/dev/null || true
    [ "$rc" = 0 ] || { echo "integration tests of $app failed ($rc)"; exit "$rc"; }
  elif [ "${HUB_TEST_REQUIRE_NODE:-}" = 1 ]; then
    echo "Node.js and npm are required for $app (HUB_TEST_REQUIRE_NODE=1)"; exit 1
  else
    echo "skipping $app: Node.js and npm are not installed"
  fi
done
echo "go test -race"
rc=0
timeout --kill-after=1m 30m go test -race -count=1 -timeout 20m ./... "$@" || rc=$?
if [ "$rc" = 0 ] && [ $# = 0 ]; then
  echo "go test -race -tags bench (the benchmark commands' own tests)"
  timeout --kill-after=1m 10m go test -race -count=1 -timeout 8m -tags bench -run 'TestBench' ./cmd/hub || rc=$?
fi
# hub serve / hub work processes a failed kill test left behind (built into
# the test's temporary directory).
pkill -KILL -f '/Test[^ ]*/hub (serve|work)' 2>/dev/null || true
exit "$rc"
