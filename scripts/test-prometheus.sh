#!/bin/sh
# Debian's Prometheus scrapes the real mt-trafmon daemon (collecting from
# routeros-sim) once a second for a little over two minutes, all on
# 127.0.0.1: promtool accepts /metrics, every scrape works, and
# increase(mt_trafmon_interface_bytes_total[2m]) from Prometheus's HTTP API
# equals the volume /api/series reports for the same window within 0.5 %
# (tests/prometheus/scrape.py says how the window is aligned). Prometheus
# gets one static loopback target and nothing else to reach; the test
# checks that neither it nor the daemon has a socket to anything else.
# Takes about 2.5 minutes (PROMETHEUS_TEST_WINDOW=30 for a quicker look).
# Installs what is missing first (scripts/deps.sh: the prometheus package,
# with promtool). Logs land in target/prometheus-artifacts/. Called by
# scripts/test.sh.
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh
sh scripts/build-librrd.sh
cargo build --locked --bins --quiet
python3 tests/prometheus/scrape.py
