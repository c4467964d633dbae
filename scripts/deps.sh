#!/bin/sh
# Installs what building and testing mt-trafmon needs on Debian 12, and
# nothing when it is all there already. Run as root, or as a user with sudo.
#   - a C compiler and pkg-config (linking, later librrd);
#   - what scripts/build-librrd.sh needs to build the static, graph-less
#     librrd: make, dpkg-dev (apt-get source), Debian's archive keyring (its
#     private apt lists), glib's static archive and headers; clang and
#     libclang for rrd-sys's bindgen; and Debian's full rrdtool CLI, with
#     which the tests cross-check the RRD files;
#   - Python 3 with venv (the cross-check with PyPI RouterOS clients);
#   - Debian's Rust 1.85 (rustc-web, the MSRV and the ARM cross toolchain),
#     which also serves as the toolchain when no other cargo is installed.
set -eu

# The one rustc-web version that bookworm has for amd64, arm64 and armhf.
RUST_WEB_VERSION=1.85.0+dfsg3-1~deb12u3

packages="build-essential pkg-config python3 python3-venv"
packages="$packages clang libclang-dev make dpkg-dev libglib2.0-dev debian-archive-keyring rrdtool"
packages="$packages rustc-web=$RUST_WEB_VERSION cargo-web=$RUST_WEB_VERSION"
packages="$packages libstd-rust-web-dev=$RUST_WEB_VERSION"
packages="$packages rust-web-clippy=$RUST_WEB_VERSION rustfmt-web=$RUST_WEB_VERSION"

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

if [ -z "$missing" ]; then
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
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
