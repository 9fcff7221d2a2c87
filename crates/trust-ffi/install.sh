#!/usr/bin/env bash
# Installs the trust C library built by `cargo build --release -p trust-ffi` into PREFIX:
#   PREFIX/include/trust.h
#   PREFIX/lib/libtrust.a
#   PREFIX/lib/libtrust.so.X.Y.Z  (SONAME) and the libtrust.so symlink for -ltrust
#   PREFIX/lib/pkgconfig/trust.pc
# Usage: crates/trust-ffi/install.sh PREFIX [TARGET_DIR]   (TARGET_DIR defaults to target/release)
set -euo pipefail
prefix=${1:?usage: install.sh PREFIX [TARGET_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
target=${2:-$here/../../target/release}
version=$(sed -n 's/^#define TRUST_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' "$here/include/trust.h" | paste -sd.)
prefix=$(mkdir -p "$prefix" && cd "$prefix" && pwd)

install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0644 "$here/include/trust.h" "$prefix/include/trust.h"
install -m 0644 "$target/libtrust.a" "$prefix/lib/libtrust.a"
install -m 0755 "$target/libtrust.so" "$prefix/lib/libtrust.so.$version"
ln -sf "libtrust.so.$version" "$prefix/lib/libtrust.so"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" "$here/trust.pc.in" \
    > "$prefix/lib/pkgconfig/trust.pc"
echo "installed trust $version into $prefix"
