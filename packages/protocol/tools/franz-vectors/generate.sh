#!/usr/bin/env bash
# Regenerates test/fixtures/franz-go-vectors.json from franz-go's kmsg (needs Go and the Go module proxy).
# Run from anywhere after building the package: bash packages/protocol/tools/franz-vectors/generate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pkg="$(cd "$here/../.." && pwd)"
ranges="$(node --input-type=module -e "
  const p = await import('$pkg/dist/src/index.js');
  console.log(p.supportedApiVersions().map((r) => {
    const v = p.parseVersions(p.schemasFor(r.apiKey).request.validVersions);
    return r.apiKey + ':' + v.min + '-' + v.max;
  }).join(' '));
")"
cd "$here"
go run . $ranges > "$pkg/test/fixtures/franz-go-vectors.json.tmp"
mv "$pkg/test/fixtures/franz-go-vectors.json.tmp" "$pkg/test/fixtures/franz-go-vectors.json"
echo "wrote $(grep -c '"apiKey"' "$pkg/test/fixtures/franz-go-vectors.json") vectors for: $ranges"
