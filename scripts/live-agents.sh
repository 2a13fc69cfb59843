#!/usr/bin/env bash
# Runs the live test suite: the real agent CLIs (Claude Code, Codex, Gemini CLI, pinned versions)
# against the project's fake model server, offline, inside a private network namespace whose only
# interface is loopback.
#
#   scripts/live-agents.sh                 # the `live` test binary, all its tests
#   scripts/live-agents.sh -- FILTER ...   # arguments after -- go to the test binary
#
# Steps: install the CLIs if needed (scripts/install-live-agents.sh, outside the repo), build the
# test binaries outside the namespace (cargo needs no network then, and nothing is built as the
# namespace's user), then run them inside `unshare --net` after `ip link set lo up`, with
# AGENTSHIM_LIVE=1 (missing preconditions fail instead of skipping) and the CLIs on PATH.
# Needs root (for unshare --net) and util-linux `unshare`, iproute2 `ip`.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "live-agents: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (unshare --net)"
command -v unshare >/dev/null || die "unshare not found (util-linux)"
command -v ip >/dev/null || die "ip not found (iproute2)"

test_args=()
if [ "${1:-}" = "--" ]; then
  shift
  test_args=("$@")
elif [ $# -gt 0 ]; then
  die "usage: $0 [-- test-binary-args...]"
fi

bin="$(scripts/install-live-agents.sh | tail -n 1)"
[ -d "$bin" ] || die "install script gave no bin dir"

# The `live` test binary (tests/live.rs: every tests/live_*.rs is one of its modules).
targets=(--test live)

echo "live-agents: building ${targets[*]}" >&2
mapfile -t exes < <(
  cargo test --no-run --message-format=json "${targets[@]}" |
    python3 -c '
import json, sys
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg.get("profile", {}).get("test"):
        print(msg["executable"])
'
)
[ ${#exes[@]} -gt 0 ] || die "cargo built no test executable"

echo "live-agents: running ${#exes[@]} test binaries in a private network namespace (loopback only)" >&2
# Inside: bring loopback up, show what the namespace has, run each binary; fail if any fails.
AGENTSHIM_LIVE=1 AGENTSHIM_LIVE_BIN="$bin" PATH="$bin:$PATH" \
  unshare --net -- bash -c '
    set -u
    ip link set lo up || exit 1
    echo "live-agents: namespace interfaces: $(ip -o link show | cut -d: -f2 | tr -d " " | tr "\n" " ")" >&2
    n=$1; shift
    exes=("${@:1:$n}"); shift "$n"
    rc=0
    for exe in "${exes[@]}"; do
      echo "live-agents: $exe" >&2
      "$exe" --test-threads=1 "$@" || rc=1
    done
    exit $rc
  ' live-agents "${#exes[@]}" "${exes[@]}" "${test_args[@]}"
