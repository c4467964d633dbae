#!/bin/sh
# Prints the path of a private Rust sysroot that holds Debian's target std for
# aarch64-unknown-linux-gnu and armv7-unknown-linux-gnueabihf, making it first
# if needed:
#   sysroot=$(scripts/rust-sysroot.sh)
#   CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS=--sysroot=$sysroot …
# The std rlibs must come from exactly the version of the host's rustc-web
# (rustc refuses others, E0514), so that version is read from dpkg and the
# arm64/armhf libstd-rust-web-dev .debs of it are downloaded (scripts/
# private-apt.sh: no root, /etc/apt and dpkg's architectures untouched) and
# unpacked with dpkg -x, never installed. The host's own std is linked in,
# so the sysroot is complete for every triple.
# Reasons: docs/cross-build.md, section 4.
#
# Where: ${XDG_CACHE_HOME:-$HOME/.cache}/mt-trafmon/rust-sysroot/<version>,
# reused by every clone on the machine (about 300 MB); when the cache cannot
# be written, target/rust-sysroot/<version> in this clone. A sysroot counts
# only once its stamp (written last) is there. Needs rustc-web and dpkg-dev
# (scripts/deps.sh).
set -eu
cd "$(dirname "$0")/.."

say() { echo "rust-sysroot.sh: $*" >&2; }

version=$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null || true)
if [ -z "$version" ]; then
    say "Debian's rustc-web is not installed (scripts/deps.sh installs it)"
    exit 1
fi

cache_root=${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/mt-trafmon/rust-sysroot
if mkdir -p "$cache_root" 2>/dev/null && [ -w "$cache_root" ]; then
    root=$cache_root
else
    root=$PWD/target/rust-sysroot
fi
sysroot=$root/$version
stamp="libstd-rust-web-dev $version arm64 armhf"

if [ -f "$sysroot/.stamp" ] && [ "$(cat "$sysroot/.stamp")" = "$stamp" ]; then
    echo "$sysroot"
    exit 0
fi

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
if [ -f "$sysroot/.stamp" ] && [ "$(cat "$sysroot/.stamp")" = "$stamp" ]; then
    echo "$sysroot"
    exit 0
fi

say "unpacking libstd-rust-web-dev $version for arm64 and armhf into $sysroot"
work=$root/work.$$
rm -rf "$work" "$sysroot"
# shellcheck source=scripts/private-apt.sh
. scripts/private-apt.sh
private_apt_init "$work/apt" arm64 armhf
(cd "$work" && apt_private download "libstd-rust-web-dev:arm64=$version" \
    "libstd-rust-web-dev:armhf=$version" >/dev/null)
mkdir -p "$work/sysroot/lib/rustlib"
for arch in arm64 armhf; do
    dpkg -x "$work"/libstd-rust-web-dev_*_"$arch".deb "$work/unpacked-$arch"
done
cp -a "$work/unpacked-arm64/usr/lib/rustlib/aarch64-unknown-linux-gnu" \
    "$work/unpacked-armhf/usr/lib/rustlib/armv7-unknown-linux-gnueabihf" \
    "$work/sysroot/lib/rustlib/"
host=$(/usr/bin/rustc -vV | sed -n 's/^host: //p')
ln -s "/usr/lib/rustlib/$host" "$work/sysroot/lib/rustlib/$host"
echo "$stamp" >"$work/sysroot/.stamp"
mv "$work/sysroot" "$sysroot"
rm -rf "$work"
# Sysroots of other versions are of no further use.
for old in "$root"/*; do
    case "$old" in
        "$sysroot" | "$root/.lock" | "$root"/work.*) ;;
        *) rm -rf "$old" ;;
    esac
done
echo "$sysroot"
