#!/usr/bin/env bash
# Fixture images for tests and examples, built offline from Debian packages (no registry, no image pull) and
# imported into the running engine(s):
#   busybox:latest    Debian 12's busybox-static with its applet links, CMD ["sh"]
#   debian:bookworm   debootstrap --variant=minbase bookworm, plus gcc, libc6-dev and make, CMD ["bash"]
#
#   bash scripts/fixtures.sh [current|legacy|all]     (default: current; the engines must be running)
#
# Root filesystem tarballs are cached in $KILN_CACHE_DIR/fixtures, keyed by FIXTURES_VERSION, the package
# versions and the package list, so debootstrap (about a minute) runs once. Each image carries the label
# org.kiln.fixture=<key>; an engine that already has the image with that key is left alone.
# Environment: KILN_DEBIAN_MIRROR (http://deb.debian.org/debian), KILN_VERBOSE=1, the roots in lib/common.sh.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

FIXTURES_VERSION=1   # bump when the way the root filesystems are built changes
FIXTURES_DIR="$KILN_CACHE_DIR/fixtures"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${KILN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_INCLUDE=gcc,libc6-dev,make
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL=org.kiln.fixture

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

short_hash() { sha256sum | cut -c1-12; }

# remove_tree DIR: unmounts anything still mounted below DIR (debootstrap mounts /proc and may bind /dev), then
# deletes it without crossing into another filesystem.
remove_tree() {
  local dir=$1 m
  [[ -e $dir ]] || return 0
  dir=$(readlink -f "$dir")
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir/" 'index($5 "/", d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  rm -rf --one-file-system "$dir"
}

TMP_DIRS=()
cleanup() {
  local d
  for d in "${TMP_DIRS[@]}"; do remove_tree "$d"; done
}
trap cleanup EXIT

new_tmp() {
  local d
  d=$(mktemp -d "$FIXTURES_DIR/.build.XXXXXX")
  TMP_DIRS+=("$d")
  printf '%s\n' "$d"
}

# tar_rootfs DIR OUT: a root filesystem tarball, owned by root, stable order and times.
tar_rootfs() {
  tar --numeric-owner --sort=name --xattrs --xattrs-include='security.capability' \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -C "$1" -cf "$2.part" . &&
    mv -f "$2.part" "$2"
}

# busybox_tarball: sets BUSYBOX_TAR and BUSYBOX_KEY.
busybox_tarball() {
  local bb ver
  ver=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) ||
    die "Debian's busybox-static is not installed; run: bash scripts/setup.sh (or apt-get install busybox-static)"
  bb=$(dpkg-query -L busybox-static | grep -m1 '/bin/busybox$') || die "busybox-static ships no /bin/busybox?"
  if ldd "$bb" >/dev/null 2>&1; then die "$bb is dynamically linked; the fixture needs busybox-static's binary"; fi
  BUSYBOX_KEY=busybox-$(printf '%s\n' "$FIXTURES_VERSION" "$ver" "$(sha256sum <"$bb")" | short_hash)
  BUSYBOX_TAR="$FIXTURES_DIR/$BUSYBOX_KEY.tar"
  [[ -s $BUSYBOX_TAR ]] && return

  log "building the busybox root filesystem (busybox-static $ver)"
  local tmp root applet
  tmp=$(new_tmp)
  root="$tmp/rootfs"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,var,home}
  install -d -m 0700 "$root/root"
  install -d -m 1777 "$root/tmp"
  install -m 0755 "$bb" "$root/bin/busybox"
  while read -r applet; do
    [[ -n $applet && $applet != bin/busybox ]] || continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
  done < <("$root/bin/busybox" --list-full)
  [[ -L $root/bin/sh ]] || die "busybox --list-full did not list bin/sh"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$root/etc/group"
  tar_rootfs "$root" "$BUSYBOX_TAR" || die "could not write $BUSYBOX_TAR"
  remove_tree "$tmp"
}

# debian_tarball: sets DEBIAN_TAR and DEBIAN_KEY; runs debootstrap once per key.
debian_tarball() {
  local dbver
  dbver=$(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null) ||
    die "debootstrap is not installed; run: bash scripts/setup.sh (or apt-get install debootstrap)"
  DEBIAN_KEY=debian-$DEBIAN_SUITE-$(printf '%s\n' "$FIXTURES_VERSION" "$DEBIAN_SUITE" "$DEBIAN_MIRROR" \
    "$DEBIAN_INCLUDE" "$dbver" | short_hash)
  DEBIAN_TAR="$FIXTURES_DIR/$DEBIAN_KEY.tar"
  [[ -s $DEBIAN_TAR ]] && return
  [[ -r $DEBIAN_KEYRING ]] || die "Debian's archive keyring $DEBIAN_KEYRING is missing (apt-get install debian-archive-keyring)"

  log "debootstrap $DEBIAN_SUITE (minbase + $DEBIAN_INCLUDE), about a minute; log $FIXTURES_DIR/debootstrap.log"
  local tmp root
  tmp=$(new_tmp)
  root="$tmp/rootfs"
  mkdir -p "$FIXTURES_DIR/debootstrap-debs"
  run_quiet "$FIXTURES_DIR/debootstrap.log" debootstrap --variant=minbase --include="$DEBIAN_INCLUDE" \
    --keyring="$DEBIAN_KEYRING" --cache-dir="$FIXTURES_DIR/debootstrap-debs" \
    "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" ||
    die "debootstrap $DEBIAN_SUITE failed (see $FIXTURES_DIR/debootstrap.log and $root/debootstrap/debootstrap.log)"
  # Nothing of the build machine in the image; no package caches (the image cannot reach a mirror anyway).
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
    "$root"/var/log/* "$root/etc/hostname"
  : >"$root/etc/resolv.conf"
  tar_rootfs "$root" "$DEBIAN_TAR" || die "could not write $DEBIAN_TAR"
  remove_tree "$tmp"
}

# import FLAVOR REF KEY TARBALL CHANGES...: imports TARBALL as REF unless the engine has REF built from KEY.
import() {
  local flavor=$1 ref=$2 key=$3 tarball=$4; shift 4
  local have change args=()
  have=$(engine_cli "$flavor" image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$ref" 2>/dev/null || true)
  if [[ $have == "$key" ]]; then
    vlog "$ref is already in the $flavor engine"
    return
  fi
  for change in "$@" "LABEL $LABEL=$key"; do args+=(--change "$change"); done
  engine_cli "$flavor" import "${args[@]}" "$tarball" "$ref" >/dev/null ||
    die "docker import of $ref into the $flavor engine failed"
  log "imported $ref into the $flavor engine"
}

main() {
  local target=${1:-$KILN_DEFAULT_FLAVOR} flavors flavor
  case $target in
    -h | --help) usage 0 ;;
    all) flavors=$KILN_FLAVORS ;;
    *) check_flavor "$target"; flavors=$target ;;
  esac
  require_root
  for flavor in $flavors; do
    flavor_paths "$flavor"
    ping_socket "$ENGINE_SOCK" ||
      die "the $flavor engine is not running on $ENGINE_SOCK; run: bash scripts/engine.sh start $flavor"
    [[ -x $ENGINE_CLI ]] || die "docker CLI $ENGINE_CLI is missing; run: bash scripts/setup.sh"
  done

  mkdir -p "$FIXTURES_DIR"
  with_lock fixtures 1800
  busybox_tarball
  debian_tarball
  for flavor in $flavors; do
    import "$flavor" busybox:latest "$BUSYBOX_KEY" "$BUSYBOX_TAR" 'CMD ["sh"]' "ENV PATH=$IMAGE_PATH"
    import "$flavor" debian:bookworm "$DEBIAN_KEY" "$DEBIAN_TAR" 'CMD ["bash"]' "ENV PATH=$IMAGE_PATH"
  done
}

main "$@"
