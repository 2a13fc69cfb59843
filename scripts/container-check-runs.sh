# The runs of scripts/container-check.sh against a built image, sourced by it (it provides log,
# die, now, seconds_since, $scratch, $SERVER and $UID_IN_IMAGE). check_image sets to_healthy and
# stop_took (seconds).

# A free TCP port on host loopback.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls "$@" every 0.1 s until it succeeds; fails after $1 seconds.
wait_for() {
  local limit="$1" started
  shift
  started="$(now)"
  until "$@" >/dev/null 2>&1; do
    awk -v s="$started" -v e="$(now)" -v l="$limit" 'BEGIN { exit !(e - s < l) }' ||
      die "not within ${limit}s: $*"
    sleep 0.1
  done
}

# `podman top` of the server without its header line.
server_processes() { podman top "$SERVER" "$@" | tail -n +2; }
no_zombies() { ! server_processes state | grep -q Z; }

check_image() {
  local image="$1" version got out port wrong_port addr token started hpids pid code
  local once=(podman run --rm --no-healthcheck --network=none)

  version="$(awk -F'"' '/^version *=/ { print $2; exit }' Cargo.toml)"
  got="$("${once[@]}" "$image" --version)"
  [ "$got" = "agentshim $version" ] || die "--version printed '$got'"
  log "ok: --version prints '$got'"

  if out="$("${once[@]}" "$image" 2>&1)"; then die "the default command served without a token"; fi
  grep -q "without a token" <<<"$out" || die "no clear refusal without a token: $out"
  log "ok: the default command (0.0.0.0:50051) refuses to serve without a token"

  got="$("${once[@]}" --entrypoint id "$image" -u)"
  [ "$got" = "$UID_IN_IMAGE" ] || die "the image runs as uid $got"
  log "ok: the image's user is uid $got"

  # The server, on host loopback only, with the token from a file as a secret would be mounted.
  port="$(free_port)"
  wrong_port="$(free_port)"
  addr="http://127.0.0.1:$port"
  token="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$token" >"$scratch/token"
  chown "$UID_IN_IMAGE" "$scratch/token"
  chmod 0400 "$scratch/token"
  started="$(now)"
  # (podman without systemd cannot schedule health timers and says so on stderr.)
  podman run -d --name "$SERVER" --network=host -e AGENTSHIM_ADDR="$addr" \
    -v "$scratch/token:/run/secrets/agentshim-token:ro" "$image" \
    serve --listen "127.0.0.1:$port" --token-file /run/secrets/agentshim-token \
    >/dev/null 2>>"$scratch/podman-run.log"
  wait_for 60 podman healthcheck run "$SERVER"
  to_healthy="$(seconds_since "$started")"
  got="$(podman inspect --format '{{.State.Health.Status}}' "$SERVER")"
  [ "$got" = healthy ] || die "health status '$got' after a passing check"
  log "ok: healthy ${to_healthy}s after \`podman run\` (HEALTHCHECK: agentshim health)"

  # The image's CLI as a client in another container, over host loopback.
  client() { podman run --rm --no-healthcheck --network=host -e AGENTSHIM_ADDR="$addr" "$@"; }
  if out="$(client "$image" ls 2>&1)"; then die "ls without the token succeeded: $out"; fi
  grep -qi unauthenticated <<<"$out" || die "ls without the token: $out"
  log "ok: a client without the token is refused (Unauthenticated)"
  export AGENTSHIM_TOKEN="$token" # passed by name below, so it never shows in `ps`
  got="$(client -e AGENTSHIM_TOKEN "$image" spawn shell --id check)"
  [ "$got" = check ] || die "spawn printed '$got'"
  got="$(client -e AGENTSHIM_TOKEN "$image" send check 'echo answer-$((6 * 7)); id -un' --wait)"
  [ "$got" = "$(printf 'answer-42\nagentshim')" ] || die "the shell shim answered '$got'"
  log "ok: a shell shim was created and answered 'answer-42' as user agentshim"

  # An agent's orphans stay in its process tree (no writable cgroup here: agents are child
  # subreapers, README "What happens to agent processes"), not PID 1's; those that exit are
  # reaped (no zombies), and the stop below must end the one that stays.
  got="$(client -e AGENTSHIM_TOKEN "$image" send check '(sleep 1000 &); (true &); echo spawned' --wait)"
  [ "$got" = spawned ] || die "the shell answered '$got'"
  unset AGENTSHIM_TOKEN
  server_processes pid ppid comm |
    awk '$3 == "bash" { agent = $1 } $3 == "sleep" { parent = $2 } END { exit !(agent && parent == agent) }' ||
    die "the orphaned sleep is not the agent's child:
$(server_processes pid ppid comm)"
  wait_for 10 no_zombies
  [ "$(server_processes user | sort -u | tr -d ' ')" = agentshim ] ||
    die "not every process runs as agentshim: $(server_processes user pid comm)"
  log "ok: PID 1 is $(server_processes pid comm | awk '$1 == 1 { print $2 }'), every process runs as agentshim, an agent's orphans stay its own, none is a zombie"

  got="$(podman exec "$SERVER" agentshim health)"
  [ "$got" = SERVING ] || die "agentshim health printed '$got'"
  if out="$(podman exec "$SERVER" agentshim health --addr "127.0.0.1:$wrong_port" 2>&1)"; then
    die "agentshim health on a wrong port succeeded"
  fi
  grep -q "cannot connect to http://127.0.0.1:$wrong_port" <<<"$out" || die "health on a wrong port: $out"
  log "ok: agentshim health: SERVING; on a wrong port: ${out#agentshim: }"

  hpids="$(server_processes hpid)"
  started="$(now)"
  podman stop --time 20 "$SERVER" >/dev/null 2>>"$scratch/podman-run.log"
  stop_took="$(seconds_since "$started")"
  code="$(podman inspect --format '{{.State.ExitCode}}' "$SERVER")"
  [ "$code" = 0 ] || die "the server exited with $code after podman stop (137 = SIGKILL)"
  awk -v t="$stop_took" 'BEGIN { exit !(t < 10) }' || die "podman stop took ${stop_took}s"
  for pid in $hpids; do
    ! kill -0 "$pid" 2>/dev/null || die "process $pid outlived the container"
  done
  podman logs "$SERVER" 2>&1 | grep -q daemon_stop || die "no shim shutdown in the log"
  log "ok: podman stop took ${stop_took}s: SIGTERM through tini, shims shut down, exit 0, no process left"
  podman rm "$SERVER" >/dev/null 2>>"$scratch/podman-run.log"
}

# The agents image has the pinned CLIs of scripts/install-live-agents.sh on PATH.
check_agent_clis() {
  local image="$1" spec name version exe got
  while read -r spec; do
    name="${spec%@*}"
    version="${spec##*@}"
    case "$name" in
      */claude-code) exe=claude ;;
      */codex) exe=codex ;;
      */gemini-cli) exe=gemini ;;
      *) die "no executable known for $name" ;;
    esac
    got="$(podman run --rm --no-healthcheck --network=none --entrypoint "$exe" "$image" --version 2>&1)"
    grep -qF "$version" <<<"$got" || die "$exe --version in the agents image: $got"
    log "ok: agents image: $exe --version: $got"
  done < <(scripts/install-live-agents.sh --print-specs)
}
