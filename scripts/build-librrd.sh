#!/bin/sh
# Builds the static, graph-less librrd that mt-trafmon links through rrd-sys,
# for one Rust target, from Debian's rrdtool source package:
#   scripts/build-librrd.sh [TRIPLE]     (default x86_64-unknown-linux-gnu;
#   also aarch64-unknown-linux-gnu and armv7-unknown-linux-gnueabihf)
# Result, found by cargo through .cargo/config.toml's [env]:
#   target/rrd-static/<TRIPLE>/include/rrd.h, rrd_format.h, rrd_client.h
#   target/rrd-static/<TRIPLE>/lib/librrd.a, libglibshim.a
#   target/rrd-static/<TRIPLE>/lib/pkgconfig/librrd.pc (with Libs.private)
# Reasons: docs/cross-build.md, sections 1 to 3:
# librrd's eleven glib calls go to scripts/glibshim.c, built here for the
# target, instead of Debian's static glib and pcre2 (1.3 MB less per binary;
# README.md, "Sizes"). glib's headers and archive are still needed to
# configure and compile librrd, but none of glib's code is linked.
#
# librrd's rrd_create is patched (scripts/librrd-create.patch, which says
# what and why) to write a new file's rows from a small buffer instead of
# building the whole file in memory first, and rrd_update
# (scripts/librrd-update.patch) to keep a file open and mapped between
# updates (rrd_updater_*).
#
# Fast when already built: it exits at once when the prefix's stamp names
# the hash of this script, scripts/private-apt.sh, scripts/glibshim.c and
# the two scripts/librrd-*.patch, and copies a finished prefix from
# ${XDG_CACHE_HOME:-$HOME/.cache}/mt-trafmon/rrd-static/<TRIPLE>-<hash>/
# when one is there (a fresh clone on the same machine). Otherwise it builds
# from scratch in target/rrd-build/<TRIPLE> and fills that cache. Delete the
# cache directory to force a rebuild; editing one of those files does so too.
#
# Needs (scripts/deps.sh installs them): make, dpkg-dev, pkg-config,
# debian-archive-keyring, and for the host target libglib2.0-dev. ARM targets
# also need gcc-aarch64-linux-gnu / gcc-arm-linux-gnueabihf and
# libc6-dev-arm64-cross / libc6-dev-armhf-cross; their glib and pcre2 come
# from the target's -dev .debs, unpacked (dpkg -x) into a scratch sysroot.
# apt runs on private lists, sources and cache under the scratch directory,
# with the host's Debian mirror: /etc/apt and dpkg's architecture list are
# never changed, and no root is needed for that part.
set -eu
cd "$(dirname "$0")/.."

triple=${1:-x86_64-unknown-linux-gnu}
# rrdtool's source package in bookworm; a new one means a new script hash.
rrdtool_version=1.7.2-4

case "$triple" in
    x86_64-unknown-linux-gnu) debarch=amd64 gnu=x86_64-linux-gnu ;;
    aarch64-unknown-linux-gnu) debarch=arm64 gnu=aarch64-linux-gnu ;;
    armv7-unknown-linux-gnueabihf) debarch=armhf gnu=arm-linux-gnueabihf ;;
    *)
        echo "build-librrd.sh: unsupported target $triple" >&2
        exit 2
        ;;
esac

say() { echo "build-librrd.sh: $*" >&2; }

hash=$(cat scripts/build-librrd.sh scripts/private-apt.sh scripts/glibshim.c \
    scripts/librrd-create.patch scripts/librrd-update.patch | sha256sum | cut -c1-16)
stamp_line="build-librrd.sh $hash $triple"
prefix=$PWD/target/rrd-static/$triple
cache_root=${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/mt-trafmon/rrd-static
cache=$cache_root/$triple-$hash

# A prefix is complete when its stamp (written last) names this script and
# every file listed in its SHA256SUMS is intact.
is_complete() {
    [ -f "$1/.stamp" ] && [ "$(head -n 1 "$1/.stamp")" = "$stamp_line" ] &&
        (cd "$1" && sha256sum --quiet --check SHA256SUMS >/dev/null 2>&1)
}

# One build per repository at a time (scripts/test.sh and demo.sh may race).
mkdir -p target/rrd-static
exec 9>target/rrd-static/.lock
flock 9

if is_complete "$prefix"; then
    exit 0
fi

# Copies a complete prefix into place: into a temporary sibling first, so
# that an interrupted copy never looks complete.
install_prefix() {
    mkdir -p "$(dirname "$2")"
    rm -rf "$2.tmp.$$"
    cp -R "$1" "$2.tmp.$$"
    rm -rf "$2"
    mv "$2.tmp.$$" "$2"
}

# rustc bundles librrd.a into rrd-sys's rlib, and rrd-sys's build script
# runs again only when an environment variable changes, never when the
# archive does: once a new prefix is in place, every rrd-sys build under
# target/ (any profile, target or CARGO_TARGET_DIR below target/) is
# removed, so that the next cargo build links the new librrd.
forget_rrd_sys() {
    find target -maxdepth 5 \( -name 'rrd-sys-*' -o -name 'librrd_sys-*' \
        -o -name 'rrd_sys-*' \) \( -path '*/.fingerprint/*' -o -path '*/build/*' \
        -o -path '*/deps/*' \) -prune -exec rm -rf {} +
}

if is_complete "$cache"; then
    touch "$cache" # in use: see the clean-up below
    install_prefix "$cache" "$prefix"
    forget_rrd_sys
    say "$triple: copied from $cache"
    exit 0
fi

say "$triple: building librrd $rrdtool_version (cache: $cache)"
work=$PWD/target/rrd-build/$triple
rm -rf "$work"
mkdir -p "$work/sys" "$work/build" "$work/prefix/include" \
    "$work/prefix/lib/pkgconfig"

# shellcheck source=scripts/private-apt.sh
. scripts/private-apt.sh
private_apt_init "$work/apt" "$debarch"
host_arch=$(dpkg --print-architecture)
(cd "$work" && apt_private source "rrdtool=$rrdtool_version" >/dev/null)
src=$work/rrdtool-${rrdtool_version%-*}
patch -d "$src" -p1 --quiet --forward <scripts/librrd-create.patch
patch -d "$src" -p1 --quiet --forward <scripts/librrd-update.patch

# glib and pcre2, for configure's link tests and librrd's and the shim's
# #include <glib.h> only (nothing of them is linked into mt-trafmon): the
# host's own for a native build, else the target's -dev packages unpacked
# into a scratch sysroot (never installed).
if [ "$debarch" = "$host_arch" ]; then
    sys=""
    cc=cc
    ar="ar"
    if [ ! -f "/usr/lib/$gnu/libglib-2.0.a" ]; then
        say "/usr/lib/$gnu/libglib-2.0.a missing: apt-get install libglib2.0-dev"
        exit 1
    fi
    glib_version=$(dpkg-query -W -f='${Version}' "libglib2.0-dev:$debarch")
else
    cc=$gnu-gcc
    ar=$gnu-ar
    if ! command -v "$cc" >/dev/null 2>&1; then
        say "$cc missing: apt-get install gcc-$gnu libc6-dev-$debarch-cross" \
            "(the package names use the Debian architecture: $debarch)"
        exit 1
    fi
    sys=$work/sys
    (cd "$work" && apt_private download "libglib2.0-dev:$debarch" \
        "libpcre2-dev:$debarch" >/dev/null)
    for deb in "$work"/*.deb; do
        dpkg -x "$deb" "$sys"
    done
    glib_version=$(dpkg-deb -f "$work"/libglib2.0-dev_*.deb Version)
fi

# configure: graph-less (no cairo/pango), no restore (no libxml2), library
# only; -ffunction-sections lets rustc's --gc-sections drop unused code;
# PIC because Rust links PIE executables. rrdtool's configure calls
# $PKGCONFIG (not $PKG_CONFIG): --static adds glib's private -lpcre2-8,
# without which its g_regex link test fails against a static-only glib.
# -ffile-prefix-map keeps the scratch path out of assert() messages, so the
# archive is the same whichever directory it was built in. rd_cv_ms_async:
# configure's probe of whether writes through mmap update the file's mtime
# cannot run when cross compiling (it then assumes not, adding a utime() to
# every update), and natively its answer can depend on the machine's load
# (it runs sync() under a 5 s alarm). Linux updates the mtime on every
# architecture: the answer is given, so the build is the same everywhere.
set -- --disable-shared --enable-static --with-pic \
    --disable-rrd_graph --disable-rrd_restore --disable-rrdcached \
    --disable-rrdcgi --disable-libdbi --disable-librados --disable-libwrap \
    --disable-perl --disable-ruby --disable-lua --disable-tcl \
    --disable-python --disable-docs --disable-examples --disable-nls \
    --prefix="$prefix" CC="$cc" \
    CFLAGS="-Os -ffunction-sections -fdata-sections -ffile-prefix-map=$work=." \
    CPPFLAGS=-D_FORTIFY_SOURCE=2 rd_cv_ms_async=ok
if [ -n "$sys" ]; then
    # PKG_CONFIG: the host's, aimed at the sysroot by the variables below
    # (there is no <triplet>-pkg-config).
    set -- "$@" --host="$gnu" LDFLAGS="-L$sys/usr/lib/$gnu" PKG_CONFIG=pkg-config
    export PKG_CONFIG_LIBDIR="$sys/usr/lib/$gnu/pkgconfig:$sys/usr/share/pkgconfig"
    export PKG_CONFIG_SYSROOT_DIR="$sys"
fi
(
    cd "$work/build"
    PKGCONFIG="pkg-config --static" "$src/configure" "$@" >configure.out ||
        { tail -n 30 configure.out config.log >&2; exit 1; }
    make -j"$(nproc)" -C src librrd.la >make.out 2>&1 ||
        { tail -n 30 make.out >&2; exit 1; }
)

# The install layout of docs/cross-build.md, section 3. The .pc file locates its
# prefix from its own directory, so a copied prefix (cache, another clone)
# works unchanged; pkg-config's static rules need every archive in one libdir
# outside /usr.
out=$work/prefix
cp "$src/src/rrd.h" "$src/src/rrd_format.h" "$src/src/rrd_client.h" "$out/include/"
cp "$work/build/src/.libs/librrd.a" "$out/lib/"
# The shim, compiled against the target's glib headers (types only).
"$cc" -Os -ffunction-sections -fdata-sections -fPIC -D_FORTIFY_SOURCE=2 \
    -Wall -Wextra -Werror -I"$sys/usr/include/glib-2.0" \
    -I"$sys/usr/lib/$gnu/glib-2.0/include" -c scripts/glibshim.c \
    -o "$work/build/glibshim.o"
"$ar" rcsD "$out/lib/libglibshim.a" "$work/build/glibshim.o"
cat >"$out/lib/pkgconfig/librrd.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: librrd
Description: RRDtool library (static; no graph/xport/restore)
Version: ${rrdtool_version%-*}
Libs: -L\${libdir} -lrrd
Libs.private: -lglibshim -lm
Cflags: -I\${includedir}
EOF
(cd "$out" && find include lib -type f | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
cat >"$out/.stamp" <<EOF
$stamp_line
rrdtool $rrdtool_version (Debian source) with librrd-create.patch and librrd-update.patch, glibshim.c over the headers of glib $glib_version ($debarch)
EOF

# Fill the cache, then install from the finished prefix. Builds by other
# versions of the script stay (clones of other branches on this machine use
# them), unless unused for 30 days.
if mkdir -p "$cache_root" 2>/dev/null; then
    find "$cache_root" -mindepth 1 -maxdepth 1 -name "$triple-*" \
        ! -name "$triple-$hash" -mtime +30 -exec rm -rf {} +
    install_prefix "$out" "$cache"
else
    say "cannot write the cache $cache_root; building without it"
fi
install_prefix "$out" "$prefix"
forget_rrd_sys
rm -rf "$work"
rmdir "$(dirname "$work")" 2>/dev/null || true
say "$triple: installed $prefix:" "$(cd "$prefix/lib" && wc -c -- *.a | sed '$d' | tr -s ' \n' ' ')"
