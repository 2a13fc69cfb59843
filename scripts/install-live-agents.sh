#!/usr/bin/env bash
# Installs the pinned real agent CLIs (Claude Code, Codex, Gemini CLI) from the npm registry into a
# cache outside the repository, for the live test suite (scripts/live-agents.sh).
#
# Idempotent: when the pinned versions are already installed it does nothing. As root it also
# installs the Debian packages bubblewrap (for Codex) and tmux (for the TUI tests) when missing.
#
# Usage: scripts/install-live-agents.sh [--quiet | --print-specs]
#   --print-specs  only print the pinned npm specs, one a line (the Dockerfile's `agents` image
#                  installs exactly these)
# Env:   AGENTSHIM_LIVE_CACHE  cache root (default: $HOME/.cache/agentshim-live)
# Prints the bin directory (to put on PATH) as its last line of standard output.
set -euo pipefail

CLAUDE_VERSION=2.1.197
CODEX_VERSION=0.169.0
GEMINI_VERSION=0.61.0

cache="${AGENTSHIM_LIVE_CACHE:-$HOME/.cache/agentshim-live}"
prefix="$cache/npm"
bin="$prefix/node_modules/.bin"
quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1

log() { [ "$quiet" = 1 ] || echo "install-live-agents: $*" >&2; }

installed_version() {
  # $1 = package name; prints the installed version or nothing.
  local pj="$prefix/node_modules/$1/package.json"
  [ -f "$pj" ] || return 0
  node -e 'process.stdout.write(require(process.argv[1]).version || "")' "$pj" 2>/dev/null || true
}

want=(
  "@anthropic-ai/claude-code@$CLAUDE_VERSION"
  "@openai/codex@$CODEX_VERSION"
  "@google/gemini-cli@$GEMINI_VERSION"
)
if [ "${1:-}" = "--print-specs" ]; then
  printf '%s\n' "${want[@]}"
  exit 0
fi
missing=()
for spec in "${want[@]}"; do
  name="${spec%@*}"
  version="${spec##*@}"
  have="$(installed_version "$name")"
  if [ "$have" != "$version" ]; then
    missing+=("$spec")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  command -v npm >/dev/null || { echo "install-live-agents: npm not found" >&2; exit 1; }
  mkdir -p "$prefix"
  log "installing ${missing[*]} into $prefix (about 740 MB, takes minutes)"
  start=$(date +%s)
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "${missing[@]}" >&2
  log "npm install took $(( $(date +%s) - start ))s"
else
  log "pinned versions already installed in $prefix"
fi

for exe in claude codex gemini; do
  [ -x "$bin/$exe" ] || { echo "install-live-agents: $bin/$exe missing after install" >&2; exit 1; }
done

# Debian packages the live suite uses: bubblewrap (Codex warns at startup without `bwrap`) and
# tmux (the TUI tests drive the CLIs in tmux panes). Best effort, as root only.
apt_missing=()
command -v bwrap >/dev/null || apt_missing+=(bubblewrap)
command -v tmux >/dev/null || apt_missing+=(tmux)
if [ ${#apt_missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  log "installing ${apt_missing[*]}"
  (apt-get install -y -qq "${apt_missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${apt_missing[@]}" >/dev/null 2>&1; }) ||
    log "could not install ${apt_missing[*]}"
fi

echo "$bin"
