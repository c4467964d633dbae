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
# .cargo/config.toml, through LLVM's lld with the size settings below. The
# binary is kept with its symbol table as mt-trafmon.with-symbols (for
# scripts/measure-size.sh), then stripped, and the .comment section
# (compiler version strings) dropped; the man page is gzipped, and
# `cargo deb --no-build` packs each target ([package.metadata.deb] in
# Cargo.toml; files in debian/). Reasons: docs/cross-build.md. Needs root
# or sudo only for the apt part of deps.sh.
set -eu
cd "$(dirname "$0")/.."

if [ "$#" -eq 0 ]; then
    set -- x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
fi

sh scripts/deps.sh --packaging
sysroot=$(sh scripts/rust-sysroot.sh)

# Size settings for every target (measured in README.md, "Sizes"; reasons in
# docs/cross-build.md, section 6): link with lld 16 (Debian 12's lld-16; its
# gcc driver finds it through -B), discard the unwind tables (panic =
# "abort": nothing unwinds), pack the relative relocations (DT_RELR, glibc
# 2.36; lld 16 adds the GLIBC_ABI_DT_RELR version that glibc insists on),
# fold identical functions into one copy (--icf=all; --icf=safe folds
# nothing, since rustc marks no function's address as unused), and SHA-256
# without its hardware back end (one hash at startup). The binaries stay
# PIE with full RELRO and BIND_NOW (rustc's defaults).
lld_dir=/usr/lib/llvm-16/bin
[ -x "$lld_dir/ld.lld" ] || {
    echo "build-deb.sh: $lld_dir/ld.lld is missing (scripts/deps.sh --packaging installs lld-16)" >&2
    exit 1
}
size_flags="-C link-arg=-fuse-ld=lld -C link-arg=-B$lld_dir"
size_flags="$size_flags -C link-arg=-Wl,-T,$PWD/scripts/no-unwind-tables.ld"
size_flags="$size_flags -C link-arg=-Wl,-z,pack-relative-relocs"
size_flags="$size_flags -C link-arg=-Wl,--icf=all"
size_flags="$size_flags --cfg sha2_backend=\"soft\" --cfg sha2_backend_soft=\"compact\""
# Source paths in panic messages relative to the crates' directory and to
# the repository (vendor/) instead of behind this machine's cargo home and
# checkout: the same strings on every build machine, and about 3 KB less.
# (std's paths come with Debian's prebuilt std and stay as they are.)
for crates in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
    [ -d "$crates" ] && size_flags="$size_flags --remap-path-prefix=$crates="
done
size_flags="$size_flags --remap-path-prefix=$PWD/="

mkdir -p target/deb-assets
gzip -9n <debian/mt-trafmon.8 >target/deb-assets/mt-trafmon.8.gz

for triple in "$@"; do
    # armhf in Thumb-2, as Debian's armhf C code is: 207,760 B less than ARM
    # code, and what keeps it within budget. rustc 1.85 accepts thumb-mode
    # but warns that the feature is unstable; the tier-2 target
    # thumbv7neon-unknown-linux-gnueabihf uses it too. Debian's prebuilt std
    # stays in ARM code, and the two interwork.
    target_flags=""
    case "$triple" in
        x86_64-unknown-linux-gnu) objcopy=objcopy arch=amd64 ;;
        aarch64-unknown-linux-gnu) objcopy=aarch64-linux-gnu-objcopy arch=arm64 ;;
        armv7-unknown-linux-gnueabihf)
            objcopy=arm-linux-gnueabihf-objcopy arch=armhf
            target_flags="-C target-feature=+thumb-mode"
            ;;
        *)
            echo "build-deb.sh: unsupported target $triple" >&2
            exit 2
            ;;
    esac
    echo "== $triple" >&2
    sh scripts/build-librrd.sh "$triple"
    # CARGO_TARGET_<TRIPLE>_RUSTFLAGS: the std of this target from the
    # private sysroot, and the size settings (not committed in
    # .cargo/config.toml, where they would break builds with rustup targets
    # or cross, or without lld-16).
    upper=$(echo "$triple" | tr 'a-z-' 'A-Z_')
    env "CARGO_TARGET_${upper}_RUSTFLAGS=--sysroot=$sysroot $size_flags $target_flags" \
        RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
        /usr/bin/cargo build --release --locked --target "$triple" --bin mt-trafmon
    binary=target/$triple/release/mt-trafmon
    # The release profile keeps the symbol table; the package gets none. A
    # binary without one was stripped by an earlier run and not relinked
    # since, so its copy with symbols is still the right one.
    if readelf -S "$binary" | grep -q ' \.symtab '; then
        cp "$binary" "$binary.with-symbols"
    fi
    "$objcopy" --strip-all --remove-section .comment "$binary"
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
