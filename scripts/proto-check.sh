#!/usr/bin/env bash
# The gRPC API by buf's rules (buf.yaml): lint with the STANDARD rules, and no breaking change
# against the previous commit once that commit was held to them too (it has a buf.yaml; a
# shallow clone without it skips the comparison, saying so). buf comes from npm, pinned, into
# the user's cache; it runs offline.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF_VERSION=1.75.0
dir="${XDG_CACHE_HOME:-$HOME/.cache}/agentshim-buf"
buf="$dir/node_modules/.bin/buf"
if [ ! -x "$buf" ] || [ "$("$buf" --version)" != "$BUF_VERSION" ]; then
  npm install --silent --no-audit --no-fund --prefix "$dir" "@bufbuild/buf@$BUF_VERSION"
fi
"$buf" lint
echo "proto-check: buf lint (STANDARD): clean"
if git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then
  "$buf" breaking --against '.git#ref=HEAD~1'
  echo "proto-check: buf breaking (FILE) against the previous commit: nothing broken"
else
  echo "proto-check: the previous commit has no buf.yaml (or is not in this clone): no breaking check"
fi
