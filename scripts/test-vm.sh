#!/bin/sh
# Tests the arm64 package where it runs: a booted Debian 12 arm64 system
# under qemu-system-aarch64 (-M virt, Cortex-A72, 2 vCPUs, 512 MiB, TCG: no
# KVM), systemd as PID 1, from the image of scripts/vm-image.sh (made once
# per machine). scripts/test-vm.py drives it over the serial console:
# install the .deb, the setup wizard answered as a new user would, the
# service, the page and /api/series from the host, the unit's sandbox,
# systemd-analyze security, upgrade, remove, purge (see its header).
#   scripts/test-vm.sh [PACKAGE.deb]   (default: the arm64 package that
#                                       scripts/build-deb.sh made)
# Environment: MT_TRAFMON_VM_MEMORY (MiB, default 512).
# Prints the minutes each phase took.
#
# Network: only the host's Debian mirror, for the image (once). The guest
# reaches nothing: QEMU user networking with restrict=on, its port 8080
# forwarded from 127.0.0.1 (hostfwd), and 10.0.2.100:8728 inside its
# virtual network, which QEMU itself answers by running socat to
# routeros-sim on 127.0.0.1 (guestfwd); there is no NTP and no apt inside.
set -eu
cd "$(dirname "$0")/.."

started=$(date +%s)
phase() { printf '\n== %s (at %s min)\n' "$*" "$(awk -v s="$(($(date +%s) - started))" 'BEGIN { printf "%.1f", s / 60 }')"; }
fail() {
    echo "test-vm.sh: FAILED: $*" >&2
    exit 1
}

if [ "$(id -u)" -ne 0 ]; then
    if [ "${MT_TRAFMON_SKIP_ROOT_TESTS:-}" = 1 ]; then
        echo "test-vm.sh: NOT RUN: making the VM image needs root"
        exit 0
    fi
    fail "making the VM image needs root; run as root, or set MT_TRAFMON_SKIP_ROOT_TESTS=1 to skip it knowingly"
fi

deb=${1:-}
if [ -z "$deb" ]; then
    set -- target/aarch64-unknown-linux-gnu/debian/mt-trafmon_*_arm64.deb
    if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
        fail "want exactly one arm64 package, found: $* (run scripts/build-deb.sh first)"
    fi
    deb=$1
fi

sh scripts/deps.sh --packaging
phase "the VM's system image (scripts/vm-image.sh; made once per machine)"
image=$(sh scripts/vm-image.sh)
echo "$image: $(cat "$image/.stamp")"

# ---- the test ---------------------------------------------------------------
cargo build --locked --quiet --bin routeros-sim
# A second package, one revision up, for the upgrade (cargo-deb repacks the
# same binary; scripts/build-deb.sh made the assets).
work=$(mktemp -d "${TMPDIR:-/tmp}/mt-trafmon-test-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
mkdir -p "$work/disk"
cp "$deb" "$work/disk/new.deb"
CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc target/tools/cargo-deb \
    --target aarch64-unknown-linux-gnu --no-build --no-strip --quiet \
    --deb-revision 99 --output "$work/disk/upgrade.deb" >/dev/null
mkfs.ext4 -q -F -L debs -d "$work/disk" "$work/debs.img" 64M

phase "boot and test (scripts/test-vm.py)"
mkdir -p target/vm-artifacts
python3 scripts/test-vm.py \
    --kernel "$image/vmlinuz" --initrd "$image/initrd.img" --root "$image/root.img" \
    --debs "$work/debs.img" --sim target/debug/routeros-sim \
    --memory "${MT_TRAFMON_VM_MEMORY:-512}" --log target/vm-artifacts/console.log
phase "test-vm.sh: all VM tests passed"
