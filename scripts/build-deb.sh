#!/bin/sh
# Builds mt-trafmon's size-optimised release binaries and Debian packages
# for amd64, arm64 and armhf on a Debian 12 amd64 machine, in one command,
# without Docker or rustup targets:
#   scripts/build-deb.sh [TRIPLE...]    (default: all three)
# TRIPLEs: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu,
# armv7-unknown-linux-gnueabihf. Results:
#   target/<TRIPLE>/release/mt-trafmon          the stripped binary
#   target/<TRIPLE>/debian/mt-trafmon_<version>-1_<arch>.deb (cargo-deb
#   also links it into target/debian/)
# Steps: scripts/deps.sh --packaging (Debian packages, cargo-deb), per
# target scripts/build-librrd.sh (static graph-less librrd with the glib
# shim), then Debian's Rust 1.85 (/usr/bin/cargo, RUSTC=/usr/bin/rustc, the
# MSRV) builds all three; the ARM targets take their std from the private
# sysroot of scripts/rust-sysroot.sh and link with the cross gcc named in
# .cargo/config.toml. The .comment section (compiler version strings) is
# dropped, the man page gzipped, and `cargo deb --no-build` packs each
# target ([package.metadata.deb] in Cargo.toml; files in debian/).
# Reasons: docs/cross-build.md. Needs root or sudo only for
# the apt part of deps.sh.
set -eu
cd "$(dirname "$0")/.."

if [ "$#" -eq 0 ]; then
    set -- x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
fi

sh scripts/deps.sh --packaging
sysroot=$(sh scripts/rust-sysroot.sh)

mkdir -p target/deb-assets
gzip -9n <debian/mt-trafmon.8 >target/deb-assets/mt-trafmon.8.gz

for triple in "$@"; do
    case "$triple" in
        x86_64-unknown-linux-gnu) objcopy=objcopy arch=amd64 ;;
        aarch64-unknown-linux-gnu) objcopy=aarch64-linux-gnu-objcopy arch=arm64 ;;
        armv7-unknown-linux-gnueabihf) objcopy=arm-linux-gnueabihf-objcopy arch=armhf ;;
        *)
            echo "build-deb.sh: unsupported target $triple" >&2
            exit 2
            ;;
    esac
    echo "== $triple" >&2
    sh scripts/build-librrd.sh "$triple"
    # CARGO_TARGET_<TRIPLE>_RUSTFLAGS: the std of this target from the
    # private sysroot (not committed in .cargo/config.toml, where it would
    # break builds with rustup targets or cross).
    upper=$(echo "$triple" | tr 'a-z-' 'A-Z_')
    env "CARGO_TARGET_${upper}_RUSTFLAGS=--sysroot=$sysroot" \
        RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
        /usr/bin/cargo build --release --locked --target "$triple" --bin mt-trafmon
    binary=target/$triple/release/mt-trafmon
    "$objcopy" --remove-section .comment "$binary"
    # Only this build's package remains (no stale version beside it).
    rm -f "target/$triple/debian/"*.deb "target/debian/mt-trafmon_"*"_$arch.deb"
    CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc \
        target/tools/cargo-deb --target "$triple" --no-build --no-strip --quiet
done

for triple in "$@"; do
    echo "$(wc -c <"target/$triple/release/mt-trafmon") bytes: target/$triple/release/mt-trafmon"
done
for triple in "$@"; do
    ls -l "target/$triple/debian/"*.deb
done
