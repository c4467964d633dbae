#!/bin/sh
# Installs what building and testing mt-trafmon needs on Debian 12, and
# nothing when it is all there already. Run as root, or as a user with sudo.
#   scripts/deps.sh               building, testing, the demo
#   scripts/deps.sh --packaging   also the ARM builds and the Debian packages
#                                 (scripts/build-deb.sh, scripts/test-deb.sh)
#   - a C compiler and pkg-config (linking, later librrd);
#   - what scripts/build-librrd.sh needs to build the static, graph-less
#     librrd: make, dpkg-dev (apt-get source), Debian's archive keyring (its
#     private apt lists), glib's static archive and headers; clang and
#     libclang for rrd-sys's bindgen; and Debian's full rrdtool CLI, with
#     which the tests cross-check the RRD files;
#   - Python 3 with venv (the cross-check with PyPI RouterOS clients);
#   - Debian's Rust 1.85 (rustc-web, the MSRV and the ARM cross toolchain),
#     which also serves as the toolchain when no other cargo is installed;
#   - shellcheck, which scripts/test.sh runs over every shell script;
#   - Prometheus (with promtool), which scrapes the daemon in
#     scripts/test-prometheus.sh on a loopback port of its own: when this
#     script installs it on a machine running systemd, it stops and
#     disables the system service the package starts (a server on port
#     9090 of every interface that no test uses).
# With --packaging:
#   - the cross C toolchains and target C libraries for arm64 and armhf,
#     LLVM's linker lld-16 (scripts/build-deb.sh links the release
#     binaries with it: packed relative relocations that glibc accepts;
#     Debian's default lld, 14, cannot), qemu-user (the ARM binaries are
#     run under it in the tests), lintian,
#     debootstrap (the install test's throwaway Debian root), systemd's
#     systemd-analyze, man-db;
#   - for the arm64 VM test (scripts/test-vm.sh): qemu-system-arm (it has
#     qemu-system-aarch64), cpio (the VM's initramfs), socat (QEMU runs it to
#     connect the guest to the simulator on 127.0.0.1);
#   - cargo-deb 3.8.0, built with Debian's cargo into the per-user cache
#     (${XDG_CACHE_HOME:-~/.cache}/mt-trafmon/tools, else target/tools) and
#     linked as target/tools/cargo-deb. cargo-deb 3.8.0 says it needs Rust
#     1.85 but uses a `let` chain (src/config.rs:684), stable only since
#     1.88; Debian's 1.85 has that as an unstable feature, enabled for this
#     one build with RUSTC_BOOTSTRAP=1 and -Zcrate-attr=feature(let_chains).
#     mt-trafmon itself never builds that way.
set -eu
cd "$(dirname "$0")/.."

packaging=no
case "${1:-}" in
    "") ;;
    --packaging) packaging=yes ;;
    *)
        echo "usage: scripts/deps.sh [--packaging]" >&2
        exit 2
        ;;
esac

# The one rustc-web version that bookworm has for amd64, arm64 and armhf.
RUST_WEB_VERSION=1.85.0+dfsg3-1~deb12u3

packages="build-essential pkg-config python3 python3-venv"
packages="$packages clang libclang-dev make dpkg-dev libglib2.0-dev debian-archive-keyring rrdtool"
packages="$packages rustc-web=$RUST_WEB_VERSION cargo-web=$RUST_WEB_VERSION"
packages="$packages libstd-rust-web-dev=$RUST_WEB_VERSION"
packages="$packages rust-web-clippy=$RUST_WEB_VERSION rustfmt-web=$RUST_WEB_VERSION"
packages="$packages shellcheck prometheus"
if [ "$packaging" = yes ]; then
    packages="$packages gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf"
    packages="$packages libc6-dev-arm64-cross libc6-dev-armhf-cross lld-16"
    packages="$packages qemu-user lintian debootstrap systemd man-db"
    packages="$packages qemu-system-arm cpio socat"
fi

missing=""
for spec in $packages; do
    name=${spec%%=*}
    status=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
    case "$spec" in
        *=*) wanted="install ok installed ${spec#*=}" ;;
        *) wanted="install ok installed ${status##* }" ;;
    esac
    [ -n "$status" ] && [ "$status" = "$wanted" ] || missing="$missing $spec"
done

# cargo-deb: a cached build when it is there, else built (about 6 minutes
# of CPU on two cores).
install_cargo_deb() {
    version=3.8.0
    cache=${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/mt-trafmon/tools
    if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
        cache=$PWD/target/tools
    fi
    root=$cache/cargo-deb-$version
    if ! "$root/bin/cargo-deb" --version 2>/dev/null | grep -qx "cargo-deb $version"; then
        echo "deps.sh: building cargo-deb $version into $root" >&2
        RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zcrate-attr=feature(let_chains)" \
            RUSTC=/usr/bin/rustc /usr/bin/cargo install --quiet --locked \
            cargo-deb --version "$version" --root "$root" \
            --target-dir "$cache/cargo-deb-build"
        rm -rf "$cache/cargo-deb-build"
    fi
    mkdir -p target/tools
    ln -sfn "$root/bin/cargo-deb" target/tools/cargo-deb
}

if [ -z "$missing" ]; then
    if [ "$packaging" = yes ]; then
        install_cargo_deb
    fi
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "deps.sh: missing Debian packages:$missing" >&2
        echo "deps.sh: run this script as root, or install them by hand" >&2
        exit 1
    fi
    sudo=sudo
fi
echo "deps.sh: installing$missing"
# Another apt run (an unattended upgrade, a parallel build) holds dpkg's
# lock for a while: wait for it rather than fail.
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086 # $missing is a list of package names
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 \
    install -y -qq --no-install-recommends $missing >/dev/null
case " $missing " in
    *" prometheus "*)
        if [ -d /run/systemd/system ]; then
            $sudo systemctl disable --now prometheus.service
        fi
        ;;
esac
if [ "$packaging" = yes ]; then
    install_cargo_deb
fi
