#!/bin/sh
# Builds the release binary with opt-level "s" and "z" and prints the
# stripped size of each, for the choice recorded in Cargo.toml's
# [profile.release]. Separate target directories keep the normal build.
set -eu
cd "$(dirname "$0")/.."
for level in s z; do
    CARGO_PROFILE_RELEASE_OPT_LEVEL=$level CARGO_TARGET_DIR=target/opt-$level \
        cargo build --release --locked --quiet --bin mt-trafmon
    printf 'opt-level %s: %s bytes\n' "$level" \
        "$(stat -c %s target/opt-$level/release/mt-trafmon)"
done
