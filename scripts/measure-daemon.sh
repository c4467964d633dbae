#!/bin/bash
# Measures what the release daemon costs while it collects from the
# simulated router on 127.0.0.1, for daemons monitoring 1, 8 and 64
# interfaces (distinct interfaces: the simulator is started with enough
# extra vlanN ones), each with its web server on a loopback port.
#
# Each daemon runs once to create its files (the profile given, default
# compact: 35 MB per file, so 64 interfaces need about 2.6 GB of space), is
# stopped, and is started again on the existing files. The script reports:
#   - launch -> first known sample: from starting the process to its
#     /api/live showing a sample (a rate, not unknown) for every interface;
#   - over a window of SECONDS after that (and 10 s of settling), per
#     thread: voluntary context switches per second (the thread blocked and
#     was woken again: its wakeups), involuntary ones per second (it was
#     preempted), and CPU seconds per hour from schedstat (nanoseconds);
#     then the process: the sum over its threads, CPU seconds per hour from
#     /proc/PID/stat (clock ticks, also counting threads that ended during
#     the window, coarse for short windows), VmRSS and RssAnon at the end,
#     and write_bytes per hour (/proc/PID/io: bytes the process caused to
#     be written to storage, counted when pages are dirtied).
# Beside them, over the same window, examples/idle_floor.rs shows the floor
# under the idle cost on this machine: a thread that only sleeps to each
# whole second ("floor sleep"); one that also sends the same simulator one
# interface's counters request, as bytes encoded once, and reads its reply
# without decoding it ("floor trip": the wakeup and the loopback round
# trip, whatever the client); one that does it with mt-trafmon's
# client ("floor ask": one request and its reply, no tracker, no RRD
# file, no web server); and one that does the trip and then writes one
# update line to an RRD file of PROFILE's layout through mt-trafmon's
# updater, as the daemon does ("floor collect": the least that a collector
# asking a router and writing one librrd file each second does).
# The daemons of all COUNTS and the floors run at once: on a virtual
# machine a thread woken on an idle CPU costs more than on a busy one, so a
# count measured alone (COUNTS "1") shows more CPU time than beside 64.
# The window starts once the web servers' learners have finished their
# first pass over the files. Nothing polls the daemons during the window.
#   scripts/measure-daemon.sh [SECONDS] [PROFILE] [COUNTS]
#   (defaults: 60, compact, "1 8 64")
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
profile=${2:-compact}
counts=${3:-1 8 64}
cargo build --release --locked --quiet --bin mt-trafmon --bin routeros-sim --example idle_floor
work=$(mktemp -d)
pids=()
sim=
cleanup() {
    for pid in $sim "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
most=0
for n in $counts; do [ "$n" -gt "$most" ] && most=$n; done
extra=$((most > 4 ? most - 4 : 0))
target/release/routeros-sim --port 0 --extra-interfaces "$extra" > "$work/sim.out" &
sim=$!
while ! grep -q listening "$work/sim.out"; do sleep 0.1; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/sim.out")

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# The first N interfaces: the simulator's busy four, then vlan1, vlan2, ...
names() {
    local busy=(ether1 ether2 bridge1 wlan1) i
    for ((i = 0; i < $1; i++)); do
        if [ "$i" -lt 4 ]; then echo "${busy[i]}"; else echo "vlan$((i - 3))"; fi
    done
}
config() { # N, web port
    local dir=$work/n$1
    mkdir -p "$dir"
    {
        printf '[storage]\ndata_dir = "%s"\nprofile = "%s"\n\n' "$dir" "$profile"
        printf '[[router]]\nname = "sim"\nhost = "127.0.0.1"\nport = %s\n' "$port"
        printf 'user = "reader"\npassword = "secret"\n'
        for name in $(names "$1"); do printf '\n[[router.interface]]\nname = "%s"\n' "$name"; done
        printf '\n[web]\nlisten = "127.0.0.1"\nport = %s\n' "$2"
    } > "$dir/config.toml"
}
# Whether /api/live on port $1 shows a sample time for each of $2 interfaces.
all_known() {
    curl -s --max-time 1 "http://127.0.0.1:$1/api/live" | grep -o '"ts":[^,}]*' |
        awk -v n="$2" '!/null/ { known++ } END { exit !(NR == n && known == n) }'
}
now() { date +%s.%N; }
launch() { # N: starts the daemon, sets $pid
    target/release/mt-trafmon -q --config "$work/n$1/config.toml" 2>> "$work/n$1/log" &
    pid=$!
}

declare -A web first
for n in $counts; do
    web[$n]=$(free_port)
    config "$n" "${web[$n]}"
    echo "creating the files for $n interface(s) ($profile)"
    launch "$n"
    until all_known "${web[$n]}" "$n"; do sleep 1; done
    kill -TERM "$pid"
    wait "$pid" || true
done
declare -A daemon
for n in $counts; do
    t0=$(now)
    launch "$n"
    daemon[$n]=$pid
    pids+=("$pid")
    until all_known "${web[$n]}" "$n"; do sleep 0.02; done
    first[$n]=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
done
declare -A floors
target/release/examples/idle_floor sleep &
floors[sleep]=$!
target/release/examples/idle_floor trip "$port" reader secret ether1 &
floors[trip]=$!
target/release/examples/idle_floor ask "$port" reader secret ether1 &
floors[ask]=$!
target/release/examples/idle_floor collect "$work/floor-collect.rrd" "$profile" "$port" reader secret ether1 &
floors[collect]=$!
pids+=("${floors[@]}")
sleep 10

# One line per thread: tid, voluntary and involuntary switches, CPU ns, name.
threads() {
    local task
    for task in /proc/"$1"/task/*; do
        printf '%s\t%s\t%s\t%s\t%s\n' "${task##*/}" \
            "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$task/status")" \
            "$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$task/status")" \
            "$(awk '{print $1}' "$task/schedstat")" \
            "$(cat "$task/comm")"
    done 2> /dev/null
}
# The web server's learner reads each file once after a start (the first
# pass: at 64 compact files about 1.5 GB, a minute or two), then settles.
# The window measures the settled daemon: it starts once no learner has
# used more than 5 ms of CPU in 5 s (at most 10 minutes of waiting).
learning() { threads "$1" | awk -F '\t' '$5 == "web learn" { print $4 }'; }
settle_start=$(now)
for ((waited = 0; waited < 600; waited += 5)); do
    declare -A before=()
    for n in $counts; do before[$n]=$(learning "${daemon[$n]}"); done
    sleep 5
    still=0
    for n in $counts; do
        if [ $(($(learning "${daemon[$n]}") - ${before[$n]:-0})) -gt 5000000 ]; then still=1; fi
    done
    if [ "$still" -eq 0 ]; then break; fi
done
echo "learners settled after $(awk -v a="$settle_start" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
written() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
table() { # START END SECONDS: wakeups and CPU per thread between two snapshots
    awk -F '\t' -v dt="$3" '
        NR == FNR { vol[$1] = $2; inv[$1] = $3; ns[$1] = $4; next }
        ($1 in vol) {
            v = ($2 - vol[$1]) / dt; i = ($3 - inv[$1]) / dt; c = ($4 - ns[$1]) / 1e9 * 3600 / dt
            printf "  %-16s %7d  %8.2f  %8.2f  %9.3f\n", $5, $1, v, i, c
            tv += v; ti += i; tc += c
        }
        BEGIN { printf "  %-16s %7s  %8s  %8s  %9s\n", "thread", "tid", "wake/s", "preempt/s", "CPU-s/h" }
        END { printf "  %-16s %7s  %8.2f  %8.2f  %9.3f\n", "all (alive both ends)", "", tv, ti, tc }
    ' "$1" "$2"
}
declare -A ticks0 written0
for n in $counts; do
    pid=${daemon[$n]}
    threads "$pid" > "$work/start.$n"
    ticks0[$n]=$(ticks "$pid")
    written0[$n]=$(written "$pid")
done
for floor in sleep trip ask collect; do threads "${floors[$floor]}" > "$work/start.floor-$floor"; done
t0=$(now)
sleep "$seconds"
t1=$(now)
for floor in sleep trip ask collect; do threads "${floors[$floor]}" > "$work/end.floor-$floor"; done
dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
for n in $counts; do
    pid=${daemon[$n]}
    threads "$pid" > "$work/end.$n"
    ticks1=$(ticks "$pid")
    written1=$(written "$pid")
    echo
    echo "== $n interface(s), $profile files, window $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s"
    echo "launch -> first known sample (all interfaces): ${first[$n]} s"
    table "$work/start.$n" "$work/end.$n" "$dt"
    awk -v a="$((ticks1 - ticks0[$n]))" -v hz="$(getconf CLK_TCK)" -v dt="$dt" \
        -v w="$((written1 - written0[$n]))" -v n="$n" 'BEGIN {
        printf "  process CPU (/proc/PID/stat): %.2f CPU-s/h; write_bytes: %.1f MB/h (%.2f MB/h per interface)\n",
            a / hz * 3600 / dt, w * 3600 / dt / 1e6, w * 3600 / dt / 1e6 / n
    }'
    echo "  VmRSS $(kib "$pid" VmRSS) KiB, RssAnon $(kib "$pid" RssAnon) KiB (peak VmHWM $(kib "$pid" VmHWM) KiB)"
done
echo
echo "== the floor on this machine, same window"
for floor in sleep trip ask collect; do
    table "$work/start.floor-$floor" "$work/end.floor-$floor" "$dt" | sed "s/idle_floor/floor $floor/"
done
