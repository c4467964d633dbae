#!/bin/sh
# Runs mt-trafmon's demo: the built-in simulated router on 127.0.0.1 and
# the monitor reading it once a second. Installs the build dependencies
# first when they are missing (scripts/deps.sh). Stop it with Ctrl-C.
# Arguments go to mt-trafmon: `scripts/demo.sh --port 9000` serves the page
# on another port than 8080 (--port 0: any free one).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build-librrd.sh
exec cargo run --release --locked --quiet --bin mt-trafmon -- --demo "$@"
