#!/usr/bin/env bash
# Builds the franz-go e2e client (e2e/clients/go) into .cache/go/bin/franz-e2e.
# Modules come from the Go module proxy into .cache/go/mod (never ~/go); go.mod and go.sum are committed.
# Idempotent: rebuilds only when the sources changed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
src="$root/e2e/clients/go"
out="$root/.cache/go/bin/franz-e2e"

command -v go >/dev/null 2>&1 || { echo "go.sh: 'go' not found on PATH (install Go 1.22+, e.g. apt-get install golang-go)" >&2; exit 1; }

export GOMODCACHE="$root/.cache/go/mod"
export GOCACHE="$root/.cache/go/build"
export GOPATH="$root/.cache/go/path"
export GOFLAGS=-mod=mod
export GOTOOLCHAIN=local

stamp="$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ -x "$out" ] && [ -f "$out.stamp" ] && [ "$(cat "$out.stamp")" = "$stamp" ]; then
  echo "go.sh: franz-e2e up to date ($(go version | cut -d' ' -f3))"
  exit 0
fi

echo "go.sh: building franz-e2e with $(go version | cut -d' ' -f3)"
mkdir -p "$(dirname "$out")"
(cd "$src" && go build -trimpath -o "$out" .)
echo "$stamp" >"$out.stamp"
echo "go.sh: done: $out"
