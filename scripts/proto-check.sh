#!/usr/bin/env bash
# The gRPC API by buf's rules (buf.yaml): lint with the STANDARD rules, and no breaking change
# in any commit that touched the API since the API was first held to them (the commit that
# added buf.yaml): each is compared with its parent. A commit that breaks the API on purpose
# says so and why in a `Buf-Skip-Breaking: <reason>` trailer of its message; it is reported,
# with what it breaks, and not failed. A shallow clone compares what it has. buf comes from
# npm, pinned, into the user's cache; it runs offline.
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

checked=0
for commit in $(git log --format=%H -- proto buf.yaml); do
  short="$(git rev-parse --short "$commit")"
  if ! git cat-file -e "$commit~1:buf.yaml" 2>/dev/null; then
    break # the commit that added buf.yaml (or the clone's oldest): nothing before it to keep
  fi
  reason="$(git log -1 --format='%(trailers:key=Buf-Skip-Breaking,valueonly)' "$commit" | head -n 1)"
  if [ -n "$reason" ]; then
    echo "proto-check: $short breaks the API on purpose (Buf-Skip-Breaking: $reason):"
    "$buf" breaking ".git#ref=$commit" --against ".git#ref=$commit~1" | sed 's/^/    /' || true
  else
    "$buf" breaking ".git#ref=$commit" --against ".git#ref=$commit~1"
    checked=$((checked + 1))
  fi
done
echo "proto-check: buf breaking (FILE): $checked commit(s) touching the API checked against their parents, nothing broken"
