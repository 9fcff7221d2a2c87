#!/usr/bin/env bash
# Installs the trust C library built by `cargo build --release -p trust-ffi` into PREFIX:
#   PREFIX/include/trust.h
#   PREFIX/lib/libtrust.a
#   PREFIX/lib/libtrust.so.X.Y.Z  (SONAME) and the libtrust.so symlink for -ltrust
#   PREFIX/lib/pkgconfig/trust.pc and trust-static.pc
#
# Usage: crates/trust-ffi/install.sh [--no-shared] PREFIX [TARGET_DIR]
#   TARGET_DIR defaults to $CARGO_TARGET_DIR/release, else target/release of this workspace.
#   --no-shared installs the static library only (then `pkg-config --static trust` links it).
#
# Nothing is written under PREFIX until every input has been found and the whole install has
# been staged in a temporary directory inside PREFIX (same file system); the staged files are
# then renamed into place, the pkg-config files last, so a failure (missing build, full disk,
# interrupted copy) leaves the previous install as it was and no half-copied file behind.
set -euo pipefail
shared=1
if [ "${1:-}" = "--no-shared" ]; then
  shared=0
  shift
fi
prefix=${1:?usage: install.sh [--no-shared] PREFIX [TARGET_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
target=${2:-${CARGO_TARGET_DIR:-$here/../../target}/release}
version=$(sed -n 's/^#define TRUST_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' "$here/include/trust.h" | paste -sd.)

inputs=("$here/include/trust.h" "$target/libtrust.a" "$here/trust.pc.in" "$here/trust-static.pc.in")
[ "$shared" = 1 ] && inputs+=("$target/libtrust.so")
for f in "${inputs[@]}"; do
  if [ ! -f "$f" ]; then
    echo "install.sh: $f not found (run: cargo build --release -p trust-ffi, or pass TARGET_DIR)" >&2
    exit 3
  fi
done
case "$version" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) echo "install.sh: no version in $here/include/trust.h" >&2; exit 2 ;;
esac

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
stage=$(mktemp -d "$prefix/.trust-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
install -d "$stage/include" "$stage/lib/pkgconfig"
install -m 0644 "$here/include/trust.h" "$stage/include/trust.h"
install -m 0644 "$target/libtrust.a" "$stage/lib/libtrust.a"
if [ "$shared" = 1 ]; then
  install -m 0755 "$target/libtrust.so" "$stage/lib/libtrust.so.$version"
  ln -s "libtrust.so.$version" "$stage/lib/libtrust.so"
fi
for pc in trust trust-static; do
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$here/$pc.pc.in" \
    > "$stage/lib/pkgconfig/$pc.pc"
done
sync -f "$stage" 2>/dev/null || sync

install -d "$prefix/include" "$prefix/lib/pkgconfig"
files=(include/trust.h lib/libtrust.a)
[ "$shared" = 1 ] && files+=("lib/libtrust.so.$version" lib/libtrust.so)
files+=(lib/pkgconfig/trust-static.pc lib/pkgconfig/trust.pc)
for f in "${files[@]}"; do
  mv -fT "$stage/$f" "$prefix/$f"
done
echo "installed trust $version into $prefix"
