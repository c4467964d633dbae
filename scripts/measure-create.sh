#!/bin/bash
# Measures what creating one RRD file costs the daemon, and checks that the
# file is the one stock `rrdtool create` writes, for one target:
#   scripts/measure-create.sh [TRIPLE] [PROFILE...]
# TRIPLE: x86_64-unknown-linux-gnu (default; built here), or
# aarch64-unknown-linux-gnu / armv7-unknown-linux-gnueabihf, whose release
# binary must be built first (scripts/build-deb.sh TRIPLE) and runs under
# qemu-user. PROFILEs default to "original compact".
#
# For each profile, the daemon starts with an empty data directory and a
# router on a closed loopback port (so nothing is written into the new
# file), and creates the interface's file at once. Printed: the time from
# the daemon's start until the file is in place (librrd writing it, fsync,
# the link into place), MB/s, and the daemon's peak RSS (VmHWM of
# /proc/PID/status once the file is there; under qemu-user that is qemu's,
# guest and emulator together). Then the same arguments go to the stock
# rrdtool of the same architecture (Debian's; for ARM, its .debs unpacked
# into a cached root and run under qemu-user), timed with its peak RSS
# (GNU time), and the two files are compared: `rrdtool info` identical but
# for the file name and each archive's random starting row (cur_row), the
# bytes identical but for those rows, and for the compact profile `rrdtool
# dump` identical. The files are written in ${TMPDIR:-/tmp} (the original
# profile needs 1.7 GB free there, for the two files).
#
# The stock ARM root: ${XDG_CACHE_HOME:-$HOME/.cache}/mt-trafmon/stock-rrdtool/
# <arch>, the rrdtool:<arch> .debs and their libraries (about 45 packages),
# downloaded once through scripts/private-apt.sh and unpacked with dpkg -x.
set -eu
cd "$(dirname "$0")/.."
triple=${1:-x86_64-unknown-linux-gnu}
shift || true
if [ "$#" -eq 0 ]; then
    set -- original compact
fi
say() { echo "measure-create.sh: $*" >&2; }

case "$triple" in
    x86_64-unknown-linux-gnu) long=8 ;;
    aarch64-unknown-linux-gnu) long=8 debarch=arm64 gnu=aarch64-linux-gnu qemu=qemu-aarch64 ;;
    armv7-unknown-linux-gnueabihf) long=4 debarch=armhf gnu=arm-linux-gnueabihf qemu=qemu-arm ;;
    *)
        say "unsupported target $triple"
        exit 2
        ;;
esac
if [ "$triple" = x86_64-unknown-linux-gnu ]; then
    cargo build --release --locked --quiet --bin mt-trafmon
    binary=target/release/mt-trafmon
    run=()
    stock=(env -u RRDCACHED_ADDRESS rrdtool)
else
    binary=target/$triple/release/mt-trafmon
    if [ ! -x "$binary" ]; then
        say "$binary missing: scripts/build-deb.sh $triple"
        exit 1
    fi
    run=("$qemu" -L "/usr/$gnu")
    root=${XDG_CACHE_HOME:-$HOME/.cache}/mt-trafmon/stock-rrdtool/$debarch
    if [ ! -f "$root/.stamp" ]; then
        say "unpacking Debian's rrdtool:$debarch and its libraries into $root"
        scratch=$(mktemp -d "${TMPDIR:-/tmp}/mt-trafmon-stock-rrdtool.XXXXXX")
        # shellcheck source=scripts/private-apt.sh
        . scripts/private-apt.sh
        private_apt_init "$scratch/apt" "$debarch"
        : >"$scratch/status"
        # What installing rrdtool on an empty $debarch system would bring;
        # only the $debarch packages hold the programs and libraries.
        packages=$(apt_private -o Dir::State::status="$scratch/status" -s \
            --no-install-recommends install "rrdtool:$debarch" |
            awk -v a=":$debarch" '$1 == "Inst" && index($2, a) { print $2 }')
        # shellcheck disable=SC2086 # one word per package
        (cd "$scratch" && apt_private download $packages >/dev/null)
        rm -rf "$root.tmp"
        mkdir -p "$root.tmp"
        for deb in "$scratch"/*.deb; do
            dpkg -x "$deb" "$root.tmp"
        done
        echo "$packages" >"$root.tmp/.stamp"
        rm -rf "$root" "$scratch"
        mv "$root.tmp" "$root"
    fi
    stock=(env -u RRDCACHED_ADDRESS "LD_LIBRARY_PATH=$root/usr/lib/$gnu:$root/lib/$gnu"
        "$qemu" -L "$root" "$root/usr/bin/rrdtool")
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mt-trafmon-measure-create.XXXXXX")
daemon=""
trap 'kill $daemon 2>/dev/null || true; rm -rf "$work"' EXIT
# A loopback port with nothing listening: the collector is refused and
# retries, and writes nothing into the new file.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
info() { "${stock[@]}" info "$1" | grep -v -e '^filename = ' -e '\.cur_row = '; }
field() { sed -n "s/^$2 = //p" "$1"; }

echo "$triple, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), file system $(stat -f -c %T "$work")"
for profile in "$@"; do
    dir=$work/$profile
    mkdir -p "$dir"
    printf '[storage]\ndata_dir = "%s"\nprofile = "%s"\n\n[[router]]\nname = "r"\nhost = "127.0.0.1"\nport = %s\nuser = "u"\npassword = "p"\n\n[[router.interface]]\nname = "ether1"\n\n[web]\nenabled = false\n' \
        "$dir" "$profile" "$port" >"$dir/config.toml"
    file=$dir/r-ether1.rrd
    sync
    t0=$(date +%s.%N)
    "${run[@]}" "$binary" --config "$dir/config.toml" 2>"$dir/log" &
    daemon=$!
    until [ -f "$file" ]; do
        kill -0 "$daemon" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
        sleep 0.02
    done
    t1=$(date +%s.%N)
    peak=$(kib "$daemon" VmHWM)
    kill "$daemon"
    wait "$daemon" || true
    daemon=""
    bytes=$(stat -c %s "$file")
    awk -v p="$profile" -v b="$bytes" -v t0="$t0" -v t1="$t1" -v peak="$peak" 'BEGIN {
        t = t1 - t0
        printf "mt-trafmon %s: %d bytes in %.1f s (%.1f MB/s, with fsync), peak RSS %.1f MiB\n",
            p, b, t, b / 1e6 / t, peak / 1024
    }'

    # The same arguments, read back from the file: DS:name:type:heartbeat:
    # min:max and RRA:cf:xff:steps:rows; the start is its last update.
    "${stock[@]}" info "$file" >"$dir/ours.info"
    read -r -a args < <(awk -F' = ' '
        function num(v) { return v == "NaN" ? "U" : v + 0 }
        function key(k, p) { sub("^" p "\\[", "", k); sub(/\].*/, "", k); return k }
        $1 ~ /^ds\[.*\]\.type$/ { n = key($1, "ds"); ds[++nds] = n; gsub(/"/, "", $2); type[n] = $2 }
        $1 ~ /^ds\[.*\]\.minimal_heartbeat$/ { hb[key($1, "ds")] = $2 }
        $1 ~ /^ds\[.*\]\.min$/ { lo[key($1, "ds")] = num($2) }
        $1 ~ /^ds\[.*\]\.max$/ { hi[key($1, "ds")] = num($2) }
        $1 ~ /^rra\[[0-9]+\]\.cf$/ { r = key($1, "rra"); gsub(/"/, "", $2); cf[r] = $2; nrra = r + 1 }
        $1 ~ /^rra\[[0-9]+\]\.rows$/ { rows[key($1, "rra")] = $2 }
        $1 ~ /^rra\[[0-9]+\]\.pdp_per_row$/ { pdp[key($1, "rra")] = $2 }
        $1 ~ /^rra\[[0-9]+\]\.xff$/ { xff[key($1, "rra")] = $2 + 0 }
        END {
            for (i = 1; i <= nds; i++) { n = ds[i]; printf "DS:%s:%s:%s:%s:%s ", n, type[n], hb[n], lo[n], hi[n] }
            for (r = 0; r < nrra; r++) printf "RRA:%s:%s:%s:%s ", cf[r], xff[r], pdp[r], rows[r]
            print ""
        }' "$dir/ours.info")
    theirs=$dir/stock.rrd
    sync
    /usr/bin/time -f "%e %M" -o "$dir/time" "${stock[@]}" create "$theirs" \
        --start "$(field "$dir/ours.info" last_update)" --step 1 "${args[@]}"
    read -r seconds peak <"$dir/time"
    awk -v p="$profile" -v b="$(stat -c %s "$theirs")" -v t="$seconds" -v peak="$peak" 'BEGIN {
        printf "rrdtool create %s: %d bytes in %.1f s (%.1f MB/s, no fsync), peak RSS %.1f MiB\n",
            p, b, t, b / 1e6 / t, peak / 1024
    }'

    # Compare: info, then the bytes but for the rra_ptr block (one C long
    # per archive, right before the data).
    if [ "$(info "$file")" != "$(info "$theirs")" ]; then
        diff <(info "$file") <(info "$theirs") >&2 || true
        say "$profile: rrdtool info differs"
        exit 1
    fi
    header=$(field "$dir/ours.info" header_size)
    archives=$(grep -c '^rra\[[0-9]*\]\.cf = ' "$dir/ours.info")
    pointers=$((header - archives * long))
    [ "$bytes" = "$(stat -c %s "$theirs")" ] || { say "$profile: sizes differ"; exit 1; }
    cmp -n "$pointers" "$file" "$theirs" || { say "$profile: headers differ"; exit 1; }
    cmp -i "$header" "$file" "$theirs" || { say "$profile: data differ"; exit 1; }
    same="rrdtool info identical (but file name and cur_row), bytes identical but for the $archives archives' starting rows (bytes $pointers to $((header - 1)))"
    if [ "$profile" = compact ]; then
        a=$("${stock[@]}" dump "$file" | sha256sum)
        b=$("${stock[@]}" dump "$theirs" | sha256sum)
        [ "$a" = "$b" ] || { say "$profile: rrdtool dump differs"; exit 1; }
        same="$same, rrdtool dump identical"
    fi
    echo "  same file: $same"
    rm -f "$file" "$theirs"
done
