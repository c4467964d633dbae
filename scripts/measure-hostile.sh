#!/bin/bash
# Measures the release daemon under the hostile clients of issue 10 (huge
# Content-Length, HTTP/2.0 request lines, pipelined flood, slowloris from
# 8 addresses, random and mutated requests, an /api/live flood, 3-day
# series reads on 4 and 64 keep-alive connections and on 64 connections
# that do not read their answers), each for SECONDS on
# loopback, against the in-process simulator with three days pre-filled.
# Prints a table: what was sent, another client's /api/live latency, RSS
# before and at peak, and the seconds stored unknown or backfilled meanwhile.
# Not a test: it asserts nothing (tests/hostile.rs does).
#   scripts/measure-hostile.sh [SECONDS] [SOURCE] [ONLY]
#   (15 s; counters or monitor-traffic; only the attacks whose name has ONLY)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet --bin mt-trafmon --example measure_hostile
ulimit -n 4096
target/release/examples/measure_hostile target/release/mt-trafmon "${1:-15}" "${2:-counters}" "${3:-}"
