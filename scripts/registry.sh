#!/usr/bin/env bash
# A local registry for push and deploy tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1:5000,
# plain HTTP, no auth, with its own config and storage on Kiln-owned paths.
#
#   bash scripts/registry.sh start    start (or reuse) it; prints its address (127.0.0.1:5000) on stdout
#   bash scripts/registry.sh stop     stop the registry this script started (by its pid file)
#   bash scripts/registry.sh status   running or not (exit 0 running, 3 not)
#
# Both engines push to it without configuration: dockerd treats registries on 127.0.0.0/8 as insecure (HTTP), e.g.
#   docker -H unix:///run/kiln/current/docker.sock tag busybox:latest 127.0.0.1:5000/busybox:latest
#   docker -H unix:///run/kiln/current/docker.sock push 127.0.0.1:5000/busybox:latest
# Environment: KILN_REGISTRY_PORT (5000), KILN_REGISTRY_START_TIMEOUT (30 s), the roots in lib/common.sh.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

REGISTRY_ADDR="127.0.0.1:${KILN_REGISTRY_PORT:-5000}"
REGISTRY_URL="http://$REGISTRY_ADDR/v2/"
REGISTRY_BIN=/usr/bin/docker-registry
REGISTRY_RUN="$KILN_RUN_DIR/registry"
REGISTRY_PID="$REGISTRY_RUN/registry.pid"
REGISTRY_HOME="$KILN_STATE_DIR/registry"
REGISTRY_CONFIG="$REGISTRY_HOME/config.yml"
REGISTRY_STORAGE="$REGISTRY_HOME/storage"
REGISTRY_LOG="$KILN_LOG_DIR/registry.log"
START_TIMEOUT=${KILN_REGISTRY_START_TIMEOUT:-30}
STOP_TIMEOUT=15

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

answers() { curl -fsS --max-time 3 "$REGISTRY_URL" >/dev/null 2>&1; }
our_pid() { pid_matches "$REGISTRY_PID" "$REGISTRY_CONFIG"; }

fail_start() {
  log "error: the registry $1"
  if [[ -s $REGISTRY_LOG ]]; then
    log "last 30 lines of $REGISTRY_LOG:"
    tail -n 30 "$REGISTRY_LOG" | sed 's/^/    /' >&2
  fi
  exit 1
}

write_config() {
  cat >"$REGISTRY_CONFIG" <<EOF
# Written by scripts/registry.sh; rewritten on every start.
version: 0.1
log:
  level: info
  fields:
    service: kiln-registry
storage:
  filesystem:
    rootdirectory: $REGISTRY_STORAGE
  delete:
    enabled: true
  redirect:
    disable: true
http:
  addr: $REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
EOF
}

cmd_start() {
  require_root
  with_lock registry 60
  local pid
  if pid=$(our_pid); then
    if answers; then
      vlog "the registry is already running (pid $pid)"
      printf '%s\n' "$REGISTRY_ADDR"
      return
    fi
  elif answers; then
    log "reusing a registry on $REGISTRY_ADDR that this script did not start; 'stop' leaves it alone"
    printf '%s\n' "$REGISTRY_ADDR"
    return
  else
    [[ -x $REGISTRY_BIN ]] || die "$REGISTRY_BIN is missing; run: apt-get install docker-registry (or scripts/setup.sh)"
    require_cmd curl setsid
    if command -v ss >/dev/null && [[ -n $(ss -Hltn "sport = :${REGISTRY_ADDR##*:}") ]]; then
      die "port ${REGISTRY_ADDR##*:} is taken by something that is not a registry: $(ss -Hltnp "sport = :${REGISTRY_ADDR##*:}" | head -n1)"
    fi
    mkdir -p "$REGISTRY_RUN" "$REGISTRY_STORAGE" "$KILN_LOG_DIR"
    write_config
    printf '\n=== %s kiln registry.sh: starting %s on %s\n' "$(date -Iseconds)" "$REGISTRY_BIN" "$REGISTRY_ADDR" \
      >>"$REGISTRY_LOG"
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      setsid nohup "$REGISTRY_BIN" serve "$REGISTRY_CONFIG" </dev/null >>"$REGISTRY_LOG" 2>&1 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$REGISTRY_PID"
    log "starting the registry (pid $pid, log $REGISTRY_LOG)"
  fi

  local deadline=$((SECONDS + START_TIMEOUT))
  until answers; do
    kill -0 "$pid" 2>/dev/null || { rm -f "$REGISTRY_PID"; fail_start "exited while starting"; }
    if ((SECONDS >= deadline)); then
      kill -TERM "$pid" 2>/dev/null || true
      rm -f "$REGISTRY_PID"
      fail_start "did not answer on $REGISTRY_URL within $START_TIMEOUT s (stopped it)"
    fi
    sleep 0.3
  done
  printf '%s\n' "$REGISTRY_ADDR"
}

cmd_stop() {
  require_root
  with_lock registry 60
  local pid
  if pid=$(our_pid); then
    kill -TERM "$pid"
    if ! wait_exit "$pid" "$STOP_TIMEOUT"; then
      log "the registry (pid $pid) did not exit within $STOP_TIMEOUT s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_exit "$pid" 5 || die "pid $pid survived SIGKILL"
    fi
    rm -f "$REGISTRY_PID"
    log "stopped the registry (pid $pid)"
  elif answers; then
    log "a registry answers on $REGISTRY_ADDR but this script did not start it; left running"
  else
    rm -f "$REGISTRY_PID"
    log "the registry is not running"
  fi
}

cmd_status() {
  local pid
  if answers; then
    if pid=$(our_pid); then pid="pid $pid"; else pid="not started by registry.sh"; fi
    printf 'registry: running (%s), %s, storage %s\n' "$pid" "$REGISTRY_ADDR" "$REGISTRY_STORAGE"
  else
    printf 'registry: not running (%s)\n' "$REGISTRY_ADDR"
    exit 3
  fi
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  -h | --help | help) usage 0 ;;
  *) usage ;;
esac
