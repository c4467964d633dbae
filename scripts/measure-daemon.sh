#!/bin/bash
# Measures the release daemon's idle memory and CPU while it collects from
# the simulated router on 127.0.0.1: one daemon monitoring 1 interface and
# one monitoring 8 (the simulator has 5 busy ones, so 4 are listed twice,
# each with a file of its own: the daemon's work per file is the same).
# Files use the profile given (default original: 9 files of 835 MB, so about
# 7.5 GB of free space is needed). Prints RSS after the files exist and CPU
# seconds per hour over the measured period.
#   scripts/measure-daemon.sh [SECONDS] [PROFILE]    (defaults 600, original)
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-600}
profile=${2:-original}
cargo build --release --locked --quiet --bin mt-trafmon --bin routeros-sim
work=$(mktemp -d)
trap 'kill $sim $one $eight 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/routeros-sim --port 0 > "$work/sim.out" &
sim=$!
while ! grep -q listening "$work/sim.out"; do sleep 0.1; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/sim.out")
config() { # name, interfaces...
    dir=$work/$1
    shift
    mkdir -p "$dir"
    {
        printf '[storage]\ndata_dir = "%s"\nprofile = "%s"\n\n' "$dir" "$profile"
        printf '[[router]]\nname = "sim"\nhost = "127.0.0.1"\nport = %s\n' "$port"
        printf 'user = "reader"\npassword = "secret"\n'
        i=0
        for name in "$@"; do
            i=$((i + 1))
            printf '\n[[router.interface]]\nname = "%s"\nrrd = "%s/if%s.rrd"\n' "$name" "$dir" "$i"
        done
    } > "$dir/config.toml"
}
config one ether1
config eight ether1 ether2 bridge1 wlan1 ether1 ether2 bridge1 wlan1
target/release/mt-trafmon -q --config "$work/one/config.toml" &
one=$!
target/release/mt-trafmon -q --config "$work/eight/config.toml" &
eight=$!
# Wait until every file exists and has been written to.
until [ "$(find "$work/one" "$work/eight" -name '*.rrd' 2>/dev/null | wc -l)" -eq 9 ]; do sleep 1; done
sleep 10
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
report() {
    echo "$1: RSS 1 interface $(kib $one VmRSS) KiB, 8 interfaces $(kib $eight VmRSS) KiB" \
        "(peaks $(kib $one VmHWM) / $(kib $eight VmHWM) KiB, including file creation)"
}
report start
a0=$(ticks $one); b0=$(ticks $eight); t0=$(date +%s.%N)
sleep "$seconds"
a1=$(ticks $one); b1=$(ticks $eight); t1=$(date +%s.%N)
report end
hz=$(getconf CLK_TCK)
awk -v a="$((a1 - a0))" -v b="$((b1 - b0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {
    dt = t1 - t0
    printf "CPU over %.0f s: 1 interface %.2f s (%.1f s per hour), 8 interfaces %.2f s (%.1f s per hour)\n",
        dt, a / hz, a / hz * 3600 / dt, b / hz, b / hz * 3600 / dt
}'
