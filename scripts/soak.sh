#!/usr/bin/env bash
# The long modes of the proof tests (issue 10, E), which `cargo test` runs short:
#   - tests/proof_framing.rs: 100,000 hostile frames, Ping after each (short: 3,000);
#   - tests/proof_chaos.rs: 3,000 messages under random Kill, outside SIGKILL, Delete and
#     Shutdown, exactly one outcome each (short: 150);
#   - tests/proof_resume.rs: 140 subscribers cancelled and resumed by after_seq (short: 20);
#   - tests/process_orphans.rs: setsid, nohup, disown and TERM-ignoring children (as in CI).
# Each prints its figures (seed, counts, losses); about 10 minutes on 2 cores.
# Usage: scripts/soak.sh [-- extra test-binary args]
set -euo pipefail
cd "$(dirname "$0")/.."

extra=()
if [ "${1:-}" = "--" ]; then
  shift
  extra=("$@")
fi

export AGENTSHIM_SOAK=1
cargo test --test shim -- proof_framing --nocapture "${extra[@]}"
cargo test --test server -- proof_ process_orphans --nocapture "${extra[@]}"
