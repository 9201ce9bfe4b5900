#!/usr/bin/env bash
# One idempotent setup for a fresh Debian 12 machine (run as root from a clone of the repository):
#   Debian packages (docker.io 20.10 for the legacy engine, runc, tini, busybox-static, debootstrap,
#   docker-registry, ...), pnpm and the workspace's dependencies, the current engine (Debian 13's docker.io
#   unpacked into $KILN_CACHE_DIR), the requested engines started, and the fixture images imported into them.
#   Starts nothing else (the registry: bash scripts/registry.sh start). A second run takes seconds.
#
#   bash scripts/setup.sh [--engines current,legacy|all] [--no-fixtures] [--no-pnpm] [-v|--verbose]
#
#   --engines LIST   engines to start, comma-separated (default: current)
#   --no-fixtures    do not build/import busybox:latest and debian:bookworm
#   --no-pnpm        skip pnpm and `pnpm install --frozen-lockfile`
#   -v, --verbose    show the output of apt, pnpm and debootstrap (otherwise in $KILN_LOG_DIR/setup.log)
# Progress goes to stderr; the addresses of the started engines go to stdout, one per line.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$SCRIPTS")
APT_PACKAGES=(
  docker.io containerd runc tini                  # the legacy engine; runc and tini serve both engines
  busybox-static debootstrap debian-archive-keyring  # fixtures, and the keyring that checks the trixie download
  docker-registry                                 # scripts/registry.sh
  ca-certificates curl xz-utils gpgv tar util-linux
)
PNPM_DEFAULT=10.34.9
NODE_MIN=20.19

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

engines=current
fixtures=1
with_pnpm=1
while (($#)); do
  case $1 in
    --engines) engines=${2:?--engines needs a list, e.g. current,legacy}; shift ;;
    --engines=*) engines=${1#*=} ;;
    --no-fixtures) fixtures=0 ;;
    --no-pnpm) with_pnpm=0 ;;
    -v | --verbose) KILN_VERBOSE=1 ;;
    -h | --help) usage 0 ;;
    *) log "unknown option '$1'"; usage ;;
  esac
  shift
done
[[ $engines == all ]] && engines=${KILN_FLAVORS// /,}
IFS=, read -r -a ENGINES <<<"$engines"
for e in "${ENGINES[@]}"; do check_flavor "$e"; done
export KILN_VERBOSE

require_root
mkdir -p "$KILN_LOG_DIR"
SETUP_LOG="$KILN_LOG_DIR/setup.log"
started=$SECONDS

step_apt() {
  local p missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    vlog "Debian packages present"
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  # Installing docker.io, containerd or docker-registry must not start their system services (a dockerd on
  # /var/run/docker.sock with a bridge, a registry on :5000): forbid service starts unless a policy exists.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, from kiln scripts/setup.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  run_quiet "$SETUP_LOG" apt-get update || die "apt-get update failed (see $SETUP_LOG)"
  run_quiet "$SETUP_LOG" apt-get install -y --no-install-recommends "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed (see $SETUP_LOG)"
  if grep -q 'temporary, from kiln' /usr/sbin/policy-rc.d 2>/dev/null; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
}

step_pnpm() {
  command -v node >/dev/null && command -v npm >/dev/null ||
    die "Node.js >= $NODE_MIN with npm is required (Debian 12's nodejs is too old); install it, then rerun"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); const [x,y]=process.argv[1].split(".").map(Number);
    process.exit(a>x||(a===x&&b>=y)?0:1)' "$NODE_MIN" ||
    die "Node.js $(node --version) is too old; Kiln needs >= $NODE_MIN"

  local want have
  want=$(sed -n 's/.*"packageManager": *"pnpm@\([0-9][^"+]*\).*/\1/p' "$REPO_ROOT/package.json" | head -n1)
  want=${want:-$PNPM_DEFAULT}
  have=$(pnpm --version 2>/dev/null || true)
  if [[ ${have%%.*} != "${want%%.*}" ]]; then
    log "installing pnpm@$want${have:+ (found $have)}"
    run_quiet "$SETUP_LOG" npm install -g "pnpm@$want" || die "npm install -g pnpm@$want failed (see $SETUP_LOG)"
    hash -r
  fi
  log "pnpm install --frozen-lockfile"
  (cd "$REPO_ROOT" && CI=1 run_quiet "$SETUP_LOG" pnpm install --frozen-lockfile) ||
    die "pnpm install --frozen-lockfile failed in $REPO_ROOT (see $SETUP_LOG)"
}

step_engines() {
  local e
  for e in "${ENGINES[@]}"; do
    if [[ $e == current ]]; then bash "$SCRIPTS/engine.sh" fetch current; fi
    bash "$SCRIPTS/engine.sh" start "$e" || die "the $e engine did not start (bash scripts/engine.sh logs $e)"
  done
}

step_fixtures() {
  local e
  for e in "${ENGINES[@]}"; do
    bash "$SCRIPTS/fixtures.sh" "$e" || die "fixture images for the $e engine failed"
  done
}

step_apt
if ((with_pnpm)); then step_pnpm; fi
step_engines
if ((fixtures)); then step_fixtures; fi
log "ready in $((SECONDS - started)) s; for your shell: eval \"\$(bash scripts/engine.sh env ${ENGINES[0]})\""
