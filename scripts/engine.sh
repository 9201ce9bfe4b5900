#!/usr/bin/env bash
# Kiln's local engines: dockerd with its embedded BuildKit, one daemon per flavor, on Kiln-owned paths.
#
#   bash scripts/engine.sh start  [current|legacy]   start (or reuse) the daemon; prints its address on stdout
#   bash scripts/engine.sh stop   [current|legacy]   stop the daemon this script started (by its pid file)
#   bash scripts/engine.sh status [current|legacy]   running or not, address, version (exit 0 running, 3 not)
#   bash scripts/engine.sh env    [current|legacy]   export lines for KILN_ENGINE and DOCKER_HOST
#   bash scripts/engine.sh logs   [current|legacy] [-f] [-n LINES]
#   bash scripts/engine.sh fetch  [current]          download/unpack the current engine only (setup.sh uses it)
#   bash scripts/engine.sh cli    [current|legacy]   print the path of the docker CLI that matches the flavor
#
# Flavors (default: current):
#   current  dockerd 26.1 + BuildKit 0.13: Debian 13 (trixie) docker.io, containerd, docker-cli and docker-buildx,
#            fetched with apt-get download from a trixie source used only for that (signatures checked against
#            Debian's archive keyring) and unpacked with dpkg -x under $KILN_CACHE_DIR/engines/current, never
#            installed over the system. runc and docker-init are Debian 12's (/usr/sbin/runc, tini).
#   legacy   dockerd 20.10 + BuildKit 0.8: Debian 12's own docker.io (apt install docker.io, see setup.sh).
#
# Each flavor gets its own socket, exec root (and so its own managed containerd), pid file, data root and log
# (see flavor_paths in lib/common.sh), no bridge network and no iptables rules, so both can run at once and
# nothing a container does leaves the machine (exec steps use network mode none or host).
#
# Environment: KILN_RUN_DIR, KILN_STATE_DIR, KILN_LOG_DIR, KILN_CACHE_DIR (roots, see lib/common.sh),
#   KILN_ENGINE_START_TIMEOUT (60 s), KILN_ENGINE_STOP_TIMEOUT (60 s), KILN_STORAGE_DRIVER (force a driver),
#   KILN_ENGINE_REFRESH=1 (look for a newer trixie package instead of reusing the unpacked one), KILN_VERBOSE=1.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

START_TIMEOUT=${KILN_ENGINE_START_TIMEOUT:-60}
STOP_TIMEOUT=${KILN_ENGINE_STOP_TIMEOUT:-60}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

# ---------------------------------------------------------------------------------------------------------------
# The current engine's binaries.

apt_opts() {
  local d="$KILN_CURRENT_HOME/apt"
  APT_OPTS=(
    -o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$d/lists" -o "Dir::State::Status=$d/status" -o "Dir::Cache=$d/cache"
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
    -o Acquire::Languages=none -o Acquire::Retries=3 -o Acquire::http::Timeout=30
  )
}

# fetch_current: makes $KILN_CURRENT_ROOT point at an unpacked, complete tree. Reuses the unpacked tree without
# touching the network unless KILN_ENGINE_REFRESH=1. Caller holds the engine-current lock.
fetch_current() {
  if [[ ${KILN_ENGINE_REFRESH:-0} != 1 && -f $KILN_CURRENT_ROOT/.kiln-complete ]]; then
    vlog "current engine already unpacked: $(readlink -f "$KILN_CURRENT_ROOT")"
    return
  fi
  require_cmd apt-get apt-cache dpkg dpkg-deb
  [[ -r $KILN_CURRENT_KEYRING ]] ||
    die "Debian's archive keyring $KILN_CURRENT_KEYRING is missing; run: apt-get install debian-archive-keyring"

  local apt="$KILN_CURRENT_HOME/apt" debs="$KILN_CURRENT_HOME/debs"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$debs"
  printf 'deb [signed-by=%s] %s %s main\n' "$KILN_CURRENT_KEYRING" "$KILN_CURRENT_MIRROR" "$KILN_CURRENT_SUITE" \
    >"$apt/sources.list"
  [[ -f $apt/status ]] || : >"$apt/status"
  apt_opts

  log "resolving the current engine's packages from Debian $KILN_CURRENT_SUITE"
  run_quiet "$apt/update.log" apt-get "${APT_OPTS[@]}" update ||
    die "apt-get update for the $KILN_CURRENT_SUITE source failed (network? signature? see $apt/update.log)"

  local pkg ver file versions=() files=()
  for pkg in $KILN_CURRENT_PACKAGES; do
    ver=$(apt-cache "${APT_OPTS[@]}" policy "$pkg" | awk '/Candidate:/ {print $2}')
    [[ -n $ver && $ver != "(none)" ]] || die "package $pkg not found in Debian $KILN_CURRENT_SUITE"
    file=$(apt-cache "${APT_OPTS[@]}" show "$pkg=$ver" | sed -n 's|^Filename: .*/||p' | head -n1)
    [[ -n $file ]] || die "no Filename for $pkg=$ver in the $KILN_CURRENT_SUITE index"
    versions+=("$pkg=$ver")
    files+=("$file")
  done
  local docker_ver=${versions[0]#docker.io=}
  [[ $docker_ver == "$KILN_CURRENT_EXPECT"* ]] ||
    die "Debian $KILN_CURRENT_SUITE now has docker.io $docker_ver, the current flavor expects ${KILN_CURRENT_EXPECT}x"

  local key dir
  key=$(printf '%s\n' "${versions[@]}" | sha256sum | cut -c1-12)
  dir="$KILN_CURRENT_HOME/docker-$docker_ver-$key"
  if [[ ! -f $dir/.kiln-complete ]]; then
    local i need=()
    for i in "${!versions[@]}"; do
      [[ -s $debs/${files[$i]} ]] || need+=("${versions[$i]}")
    done
    if ((${#need[@]})); then
      log "downloading ${need[*]}"
      # apt drops root to _apt for downloads; let it write there (avoids the "unsandboxed" warning).
      if id _apt >/dev/null 2>&1; then chown _apt "$debs"; fi
      (cd "$debs" && run_quiet "$apt/download.log" apt-get "${APT_OPTS[@]}" download "${need[@]}") ||
        die "apt-get download ${need[*]} failed (see $apt/download.log)"
    fi
    log "unpacking into $dir"
    local tmp
    tmp=$(mktemp -d "$KILN_CURRENT_HOME/.unpack.XXXXXX")
    for file in "${files[@]}"; do
      dpkg -x "$debs/$file" "$tmp" || { rm -rf "$tmp"; die "dpkg -x $debs/$file failed (corrupt download? delete it and retry)"; }
    done
    # trixie's docker-init is a link to tini-static from trixie's tini; use Debian 12's instead.
    rm -f "$tmp/usr/bin/docker-init"
    if [[ -x /usr/bin/tini-static ]]; then ln -s /usr/bin/tini-static "$tmp/usr/bin/docker-init"; fi
    "$tmp/usr/sbin/dockerd" --version >/dev/null 2>&1 ||
      { rm -rf "$tmp"; die "the unpacked dockerd does not run on this machine: $("$tmp/usr/sbin/dockerd" --version 2>&1 | head -n3)"; }
    printf '%s\n' "${versions[@]}" >"$tmp/VERSIONS"
    touch "$tmp/.kiln-complete"
    rm -rf "$dir"
    mv -T "$tmp" "$dir"
  fi
  ln -sfn "$(basename "$dir")" "$KILN_CURRENT_HOME/.active.tmp"
  mv -T "$KILN_CURRENT_HOME/.active.tmp" "$KILN_CURRENT_ROOT"
  log "current engine: $(paste -sd' ' "$dir/VERSIONS")"
}

# ---------------------------------------------------------------------------------------------------------------
# Daemon lifecycle.

# our_pid: prints the pid of the running dockerd this script started for the flavor.
our_pid() { pid_matches "$ENGINE_PID" "--pidfile $ENGINE_PID"; }

# pick_storage_driver: overlay2 when the data root's filesystem can mount an overlay, vfs otherwise.
pick_storage_driver() {
  if [[ -n ${KILN_STORAGE_DRIVER:-} ]]; then
    STORAGE_DRIVER=$KILN_STORAGE_DRIVER
    return
  fi
  local p="$ENGINE_DATA/.overlay-probe" err
  rm -rf "$p" && mkdir -p "$p/lower" "$p/upper" "$p/work" "$p/merged"
  if err=$(mount -t overlay overlay -o "lowerdir=$p/lower,upperdir=$p/upper,workdir=$p/work" "$p/merged" 2>&1); then
    umount "$p/merged"
    STORAGE_DRIVER=overlay2
  else
    STORAGE_DRIVER=vfs
    FALLBACK_NOTE="overlay mount failed on $ENGINE_DATA ($err): using the vfs storage driver (slow, copies layers)"
    log "$FALLBACK_NOTE"
  fi
  rm -rf "$p"
}

write_daemon_config() {
  if [[ $ENGINE_FLAVOR == current ]]; then
    # The classic graphdriver image store (what the wire notes were verified against), not containerd's.
    printf '{\n  "features": { "containerd-snapshotter": false }\n}\n' >"$ENGINE_CONFIG"
  else
    printf '{}\n' >"$ENGINE_CONFIG"
  fi
}

# release_data_root: dockerd bind-mounts its data root onto itself and a daemon that dies while starting can leave
# that mount behind; drop it once no daemon of this flavor runs (the next start mounts it again).
release_data_root() {
  if ! our_pid >/dev/null && mountpoint -q "$ENGINE_DATA"; then
    umount "$ENGINE_DATA" 2>/dev/null || true
  fi
}

fail_start() {
  release_data_root
  log "error: the $ENGINE_FLAVOR engine $1"
  if [[ -s $ENGINE_LOG ]]; then
    log "last 30 lines of $ENGINE_LOG:"
    tail -n 30 "$ENGINE_LOG" | sed 's/^/    /' >&2
  fi
  exit 1
}

# wait_ready PID: bounded wait until the daemon answers on its socket.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + START_TIMEOUT))
  until ping_socket "$ENGINE_SOCK"; do
    if ! kill -0 "$pid" 2>/dev/null && ! our_pid >/dev/null; then
      fail_start "exited while starting"
    fi
    if ((SECONDS >= deadline)); then
      kill -TERM "$pid" 2>/dev/null || true
      wait_exit "$pid" 20 || kill -KILL "$pid" 2>/dev/null || true
      fail_start "did not answer on $ENGINE_SOCK within $START_TIMEOUT s (stopped it)"
    fi
    sleep 0.3
  done
}

check_version() {
  local v
  v=$(socket_version "$ENGINE_SOCK")
  [[ $v == "$ENGINE_EXPECT"* ]] ||
    die "the daemon on $ENGINE_SOCK reports version '${v:-?}', the $ENGINE_FLAVOR flavor expects ${ENGINE_EXPECT}x"
}

cmd_start() {
  require_root
  with_lock "engine-$ENGINE_FLAVOR" 900
  mkdir -p "$ENGINE_RUN" "$ENGINE_EXEC" "$ENGINE_DATA" "$KILN_LOG_DIR"

  local pid
  if pid=$(our_pid); then
    vlog "the $ENGINE_FLAVOR engine is already running (pid $pid)"
    wait_ready "$pid"
    check_version
    printf '%s\n' "$ENGINE_ADDRESS"
    return
  fi
  if ping_socket "$ENGINE_SOCK"; then
    check_version
    log "reusing a daemon on $ENGINE_SOCK that this script did not start (no matching pid file); 'stop' leaves it alone"
    printf '%s\n' "$ENGINE_ADDRESS"
    return
  fi

  if [[ $ENGINE_FLAVOR == current ]]; then
    fetch_current
  fi
  [[ -x $ENGINE_DOCKERD ]] || die "$ENGINE_DOCKERD is missing; run: bash scripts/setup.sh --engines $ENGINE_FLAVOR"
  [[ -x /usr/sbin/runc ]] || die "/usr/sbin/runc (Debian 12's runc) is missing; run: bash scripts/setup.sh"
  require_cmd curl setsid

  rm -f "$ENGINE_PID" "$ENGINE_SOCK"
  FALLBACK_NOTE=
  pick_storage_driver
  write_daemon_config

  local args=(
    --host "unix://$ENGINE_SOCK"
    --exec-root "$ENGINE_EXEC"
    --data-root "$ENGINE_DATA"
    --pidfile "$ENGINE_PID"
    --config-file "$ENGINE_CONFIG"
    --storage-driver "$STORAGE_DRIVER"
    --cgroup-parent "kiln-$ENGINE_FLAVOR"
    --bridge=none --iptables=false --ip-masq=false --userland-proxy=false
  )
  if "$ENGINE_DOCKERD" --help 2>/dev/null | grep -q -- '--ip6tables'; then
    args+=(--ip6tables=false)
  fi

  {
    printf '\n=== %s kiln engine.sh: starting the %s engine: %s (storage driver %s)\n' \
      "$(date -Iseconds)" "$ENGINE_FLAVOR" "$ENGINE_DOCKERD" "$STORAGE_DRIVER"
    if [[ -n $FALLBACK_NOTE ]]; then printf '=== %s\n' "$FALLBACK_NOTE"; fi
    printf '=== PATH=%s\n' "$ENGINE_PATH"
  } >>"$ENGINE_LOG"

  # Detached: own session, no terminal, stdio to the log, and without our lock fd, so it outlives this script
  # and a caller's $(...) does not wait for it.
  env -i PATH="$ENGINE_PATH" HOME=/root LANG=C.UTF-8 \
    setsid nohup "$ENGINE_DOCKERD" "${args[@]}" </dev/null >>"$ENGINE_LOG" 2>&1 9>&- &
  pid=$!
  log "starting the $ENGINE_FLAVOR engine (pid $pid, log $ENGINE_LOG)"
  wait_ready "$pid"
  check_version
  log "the $ENGINE_FLAVOR engine answers: $ENGINE_ADDRESS (dockerd $(socket_version "$ENGINE_SOCK"))"
  printf '%s\n' "$ENGINE_ADDRESS"
}

cmd_stop() {
  require_root
  with_lock "engine-$ENGINE_FLAVOR" 120
  local pid cpid
  if pid=$(our_pid); then
    kill -TERM "$pid"
    if ! wait_exit "$pid" "$STOP_TIMEOUT"; then
      log "the $ENGINE_FLAVOR engine (pid $pid) did not exit within $STOP_TIMEOUT s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_exit "$pid" 10 || die "pid $pid survived SIGKILL"
      # Its managed containerd outlives a SIGKILLed dockerd; stop it by its own pid file.
      if cpid=$(pid_matches "$ENGINE_EXEC/containerd/containerd.pid" "$ENGINE_EXEC/containerd"); then
        kill -TERM "$cpid" 2>/dev/null || true
        wait_exit "$cpid" 10 || kill -KILL "$cpid" 2>/dev/null || true
      fi
    fi
    rm -f "$ENGINE_PID"
    release_data_root
    log "stopped the $ENGINE_FLAVOR engine (pid $pid)"
  elif ping_socket "$ENGINE_SOCK"; then
    log "a daemon answers on $ENGINE_SOCK but this script did not start it (no matching pid file); left running"
  else
    rm -f "$ENGINE_PID"
    log "the $ENGINE_FLAVOR engine is not running"
  fi
}

cmd_status() {
  local pid
  if ping_socket "$ENGINE_SOCK"; then
    if pid=$(our_pid); then pid="pid $pid"; else pid="not started by engine.sh"; fi
    printf '%s: running (%s), %s, dockerd %s, API %s\n' "$ENGINE_FLAVOR" "$pid" "$ENGINE_ADDRESS" \
      "$(socket_version "$ENGINE_SOCK")" "$(socket_api_version "$ENGINE_SOCK")"
  elif pid=$(our_pid); then
    printf '%s: starting or not answering (pid %s), %s\n' "$ENGINE_FLAVOR" "$pid" "$ENGINE_ADDRESS"
    exit 3
  else
    printf '%s: not running (%s)\n' "$ENGINE_FLAVOR" "$ENGINE_ADDRESS"
    exit 3
  fi
}

cmd_env() {
  printf 'export KILN_ENGINE=%s\n' "$ENGINE_ADDRESS"
  printf 'export DOCKER_HOST=%s\n' "$ENGINE_DOCKER_HOST"
}

cmd_logs() {
  local lines=100 follow=()
  while (($#)); do
    case $1 in
      -f | --follow) follow=(-F) ;;
      -n) lines=${2:?-n needs a number}; shift ;;
      *) die "logs: unknown option '$1'" ;;
    esac
    shift
  done
  [[ -e $ENGINE_LOG ]] || die "no log yet at $ENGINE_LOG (the $ENGINE_FLAVOR engine never started here)"
  exec tail -n "$lines" "${follow[@]}" "$ENGINE_LOG"
}

main() {
  (($#)) || usage
  local cmd=$1; shift
  local flavor=$KILN_DEFAULT_FLAVOR
  if (($#)) && [[ $1 != -* ]]; then flavor=$1; shift; fi
  case $cmd in -h | --help | help) usage 0 ;; esac
  check_flavor "$flavor"
  flavor_paths "$flavor"
  case $cmd in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    logs) cmd_logs "$@" ;;
    cli) printf '%s\n' "$ENGINE_CLI" ;;
    fetch)
      [[ $flavor == current ]] || { log "the legacy engine is Debian 12's docker.io; nothing to fetch"; return; }
      require_root
      with_lock engine-current 900
      fetch_current
      ;;
    *) log "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"
