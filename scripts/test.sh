#!/bin/sh
# Runs every test of mt-trafmon on a Debian 12 machine, installing what is
# missing first (scripts/deps.sh --packaging). This is the README's test command, and
# what CI runs (.ci/run). Steps, in order:
#   0. shellcheck over every shell script and maintainer script, and a
#      syntax check of the VM test's Python driver;
#   1. formatting (cargo fmt --check) and lints (clippy, warnings are errors);
#   2. unit and integration tests (cargo test: codec vectors, client against
#      the simulator, simulator, tidy checks, hostile web clients), and the
#      unit tests of the patched tiny_http in vendor/;
#   3. the MSRV: a check build with Debian's Rust 1.85;
#   4. the cross-check of the simulator with PyPI's librouteros and
#      routeros-api (tests/interop, in a venv under target/);
#   5. the browser tests of the graph page in headless Debian Chromium
#      (scripts/test-browser.sh);
#   6. Debian's Prometheus scraping the daemon for about 2.5 minutes
#      (scripts/test-prometheus.sh);
#   7. the release binaries and Debian packages for amd64, arm64 and armhf
#      (scripts/build-deb.sh), then their tests: lintian, the ARM binaries
#      under qemu-user, the amd64 package in a throwaway Debian root
#      (scripts/test-deb.sh);
#   7. the arm64 package on a booted arm64 Debian 12 under
#      qemu-system-aarch64 with 512 MiB: install, the wizard on the serial
#      console, the service, its sandbox, upgrade, remove, purge
#      (scripts/test-vm.sh; its system image is cached per machine).
set -eu
cd "$(dirname "$0")/.."
# Each step's header says how long the run has taken so far.
started=$(date +%s)

sh scripts/deps.sh --packaging
sh scripts/build-librrd.sh

step() { printf '\n== %s (at %d s)\n' "$*" "$(($(date +%s) - started))"; }

step "shellcheck"
shellcheck -x scripts/*.sh debian/postinst debian/postrm
python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' scripts/test-vm.py

step "format and lints"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings

step "unit and integration tests"
cargo test --locked
cargo test --locked -p tiny_http --lib

step "release-build tests: the web floods and the hostile suite (a debug build answers too slowly for them to mean anything)"
cargo test --locked --release --test web_flood --test hostile

step "MSRV: check build with Debian's rustc $(/usr/bin/rustc --version | cut -d' ' -f2)"
RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO_TARGET_DIR=target/msrv \
    /usr/bin/cargo check --locked --all-targets --quiet

step "cross-check of the simulator with PyPI RouterOS clients"
venv=target/interop-venv
if [ ! -x "$venv/bin/pytest" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
fi
cargo build --locked --bin routeros-sim --quiet
ROUTEROS_SIM="$PWD/target/debug/routeros-sim" "$venv/bin/pytest" -q tests/interop

step "browser tests of the page (headless Chromium)"
sh scripts/test-browser.sh

step "Prometheus scrapes the daemon (about 2.5 minutes)"
sh scripts/test-prometheus.sh

step "release binaries and Debian packages (amd64, arm64, armhf)"
sh scripts/build-deb.sh

step "package tests"
sh scripts/test-deb.sh

step "the arm64 package in a booted arm64 VM (512 MiB, TCG)"
sh scripts/test-vm.sh

step "all tests passed"
