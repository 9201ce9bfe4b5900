# shellcheck shell=bash
# Shared helpers for Kiln's provisioning scripts (engine.sh, fixtures.sh, registry.sh, setup.sh).
# Source it; it defines variables and functions only and runs nothing.
#
# Every path Kiln owns on the machine is derived from these four roots. Override them to move everything,
# e.g. KILN_RUN_DIR=/tmp/kiln-run for a throwaway try (keep unix socket paths under ~100 characters).

KILN_RUN_DIR=${KILN_RUN_DIR:-/run/kiln}             # sockets, exec roots, pid files, locks
KILN_STATE_DIR=${KILN_STATE_DIR:-/var/lib/kiln}     # data roots of the engines, registry storage
KILN_LOG_DIR=${KILN_LOG_DIR:-/var/log/kiln}         # daemon logs
KILN_CACHE_DIR=${KILN_CACHE_DIR:-/var/cache/kiln}   # downloads, unpacked engines, fixture tarballs

KILN_FLAVORS="current legacy"
KILN_DEFAULT_FLAVOR=current

# The current engine: Debian 13 packages unpacked (never installed) under $KILN_CACHE_DIR/engines/current.
KILN_CURRENT_SUITE=${KILN_CURRENT_SUITE:-trixie}
KILN_CURRENT_MIRROR=${KILN_CURRENT_MIRROR:-http://deb.debian.org/debian}
KILN_CURRENT_KEYRING=${KILN_CURRENT_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
KILN_CURRENT_PACKAGES="docker.io containerd docker-cli docker-buildx"
KILN_CURRENT_EXPECT=26.1.       # dockerd version prefix the current flavor must have
KILN_LEGACY_EXPECT=20.10.       # same for legacy (Debian 12's docker.io)
KILN_CURRENT_HOME="$KILN_CACHE_DIR/engines/current"
KILN_CURRENT_ROOT="$KILN_CURRENT_HOME/active"   # symlink to the unpacked tree in use

# Debian 12's docker CLI: talks to both daemons (API 1.41 is inside what 26.1 accepts).
KILN_LEGACY_DOCKER=${KILN_LEGACY_DOCKER:-/usr/bin/docker}

KILN_SCRIPT_NAME=${KILN_SCRIPT_NAME:-$(basename "${BASH_SOURCE[1]:-$0}" .sh)}
KILN_VERBOSE=${KILN_VERBOSE:-0}

log() { printf 'kiln %s: %s\n' "$KILN_SCRIPT_NAME" "$*" >&2; }
vlog() { if [[ $KILN_VERBOSE == 1 ]]; then log "$@"; fi; }
die() { printf 'kiln %s: error: %s\n' "$KILN_SCRIPT_NAME" "$*" >&2; exit 1; }

require_root() {
  [[ $(id -u) == 0 ]] || die "must run as root (it manages daemons under $KILN_RUN_DIR and $KILN_STATE_DIR); try: sudo bash $0 $*"
}

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' not found; run: bash scripts/setup.sh"
  done
}

# check_flavor NAME: dies unless NAME is a known engine flavor.
check_flavor() {
  case " $KILN_FLAVORS " in
    *" $1 "*) ;;
    *) die "unknown engine flavor '$1' (expected one of: ${KILN_FLAVORS// /, })" ;;
  esac
}

# flavor_paths FLAVOR: sets the ENGINE_* variables for one flavor.
flavor_paths() {
  ENGINE_FLAVOR=$1
  ENGINE_RUN="$KILN_RUN_DIR/$1"
  ENGINE_SOCK="$ENGINE_RUN/docker.sock"
  ENGINE_EXEC="$ENGINE_RUN/exec"
  ENGINE_PID="$ENGINE_RUN/dockerd.pid"
  ENGINE_CONFIG="$ENGINE_RUN/daemon.json"
  ENGINE_DATA="$KILN_STATE_DIR/$1"
  ENGINE_LOG="$KILN_LOG_DIR/$1.log"
  ENGINE_ADDRESS="docker://$ENGINE_SOCK"
  ENGINE_DOCKER_HOST="unix://$ENGINE_SOCK"
  if [[ $1 == current ]]; then
    ENGINE_DOCKERD="$KILN_CURRENT_ROOT/usr/sbin/dockerd"
    ENGINE_CLI="$KILN_CURRENT_ROOT/usr/bin/docker"
    ENGINE_EXPECT=$KILN_CURRENT_EXPECT
    # The unpacked trixie binaries (dockerd, containerd, containerd-shim-runc-v2) come first; runc and
    # docker-init then resolve to Debian 12's /usr/sbin/runc and /usr/bin/docker-init. /usr/local is left out
    # on purpose so nothing installed by hand there can shadow them.
    ENGINE_PATH="$KILN_CURRENT_ROOT/usr/sbin:$KILN_CURRENT_ROOT/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  else
    ENGINE_DOCKERD=/usr/sbin/dockerd
    ENGINE_CLI=$KILN_LEGACY_DOCKER
    ENGINE_EXPECT=$KILN_LEGACY_EXPECT
    ENGINE_PATH="/usr/sbin:/usr/bin:/sbin:/bin"
  fi
}

# engine_cli FLAVOR ARGS...: the docker CLI of that flavor, pointed at its socket.
engine_cli() {
  local flavor=$1; shift
  flavor_paths "$flavor"
  "$ENGINE_CLI" -H "$ENGINE_DOCKER_HOST" "$@"
}

# ping_socket SOCK: true when a docker daemon answers on SOCK.
ping_socket() {
  [[ -S $1 ]] && curl -fsS --max-time 3 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1
}

# socket_version SOCK: prints the daemon's engine version (e.g. 26.1.5+dfsg1), empty on failure.
socket_version() {
  curl -fsS --max-time 3 --unix-socket "$1" http://localhost/version 2>/dev/null |
    sed -n 's/^{.*"Version":"\([^"]*\)".*$/\1/p' | head -n1
}

# socket_api_version SOCK: prints the daemon's API version (e.g. 1.45).
socket_api_version() {
  curl -fsS --max-time 3 --unix-socket "$1" http://localhost/version 2>/dev/null |
    sed -n 's/^{.*"ApiVersion":"\([^"]*\)".*$/\1/p' | head -n1
}

# pid_matches PIDFILE NEEDLE: prints the pid from PIDFILE if that process is alive and its command line
# contains NEEDLE (so a stale pid file whose pid was reused by something else is never trusted).
pid_matches() {
  local pidfile=$1 needle=$2 pid
  [[ -s $pidfile ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$needle" || return 1
  printf '%s\n' "$pid"
}

# wait_exit PID SECONDS: waits for PID to exit; false on timeout.
wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# with_lock NAME SECONDS: takes an exclusive lock on fd 9 for the rest of the process (bounded wait), so two
# scripts never start the same daemon or write the same cache entry at once.
with_lock() {
  mkdir -p "$KILN_RUN_DIR/locks"
  exec 9>"$KILN_RUN_DIR/locks/$1.lock"
  flock -w "$2" 9 || die "another Kiln script has held the lock $KILN_RUN_DIR/locks/$1.lock for over $2 s; is one stuck?"
}

# run_quiet LOGFILE CMD...: runs CMD with its output in LOGFILE (or on stderr with KILN_VERBOSE=1); on failure
# prints the last lines of that output and returns the command's status.
run_quiet() {
  local out=$1; shift
  if [[ $KILN_VERBOSE == 1 ]]; then
    "$@" >&2
    return
  fi
  local rc=0
  "$@" >"$out" 2>&1 || rc=$?
  if ((rc != 0)); then
    log "failed ($rc): $*"
    tail -n 30 "$out" | sed 's/^/    /' >&2
  fi
  return "$rc"
}
