#!/bin/sh
# Tests what scripts/build-deb.sh made (run that first; scripts/test.sh runs
# both). Steps:
#   1. lintian on the amd64, arm64 and armhf packages: no error, and no
#      warning but those that only matter for uploads to the Debian archive
#      (the list is $archive_only_tags below); the synopsis is whole;
#   1b. each binary needs only libc, libm, libgcc_s, glibc 2.36 at most
#      (with its packed relative relocations declared); it is PIE with full
#      RELRO and BIND_NOW and has no unwind tables, yet a panic still says
#      what and where and aborts (x86_64 natively, ARM under qemu-user); the
#      stripped aarch64 and armv7 binaries stay within $size_budget bytes;
#   2. each ARM binary under qemu-user: --version, then a short real run
#      that collects from the simulator (routeros-sim, native, 127.0.0.1),
#      with the password in the original's xor: form (so the release
#      build's SHA-256, base64 and XOR must all be right to log in), into
#      a compact RRD file, checked with rrdtool (aarch64; the host's rrdtool
#      cannot read 32-bit ARM files, so for armv7 the file must be written
#      to again and again), and GET /api/live on 127.0.0.1 (both);
#   3. the amd64 package in a throwaway Debian 12 root (debootstrap, chroot):
#      the binary runs there, the system user, owners and modes, the
#      conffile, the unit (systemd-analyze verify; the security exposure is
#      printed and must stay at most $max_exposure), its start condition, an
#      upgrade that keeps the changed config and the data, remove that keeps
#      the data, purge that deletes what README.md says.
# Step 3 needs root (debootstrap, chroot); without root it is reported as
# not run and the script fails, unless MT_TRAFMON_SKIP_ROOT_TESTS=1 says so.
# The Debian root is made once per machine and copied for each run, from
# ${XDG_CACHE_HOME:-~/.cache}/mt-trafmon/debootstrap (else target/).
# Nothing here talks to anything but 127.0.0.1, except debootstrap and
# apt, which fetch from the host's Debian mirror.
set -eu
cd "$(dirname "$0")/.."

# The qemu run serves HTTP on 127.0.0.1 and must answer GET /api/live with
# a known rate for sim/ether1 (no: collect only, with -c).
live_api=yes
archive_only_tags="initial-upload-closes-no-bugs"
max_exposure=2.0
# Stripped aarch64 and armv7 binaries (README.md, "Sizes"), with every
# feature: at most 1,100,000 B each.
size_budget=1100000

step() { printf '\n== %s\n' "$*"; }
fail() {
    echo "test-deb.sh: FAILED: $*" >&2
    exit 1
}

# The package of a Debian architecture, where cargo-deb writes it for a
# --target build (target/debian/ holds links that a later run may drop).
deb_for() {
    case "$1" in
        amd64) set -- target/x86_64-unknown-linux-gnu/debian/mt-trafmon_*_amd64.deb ;;
        arm64) set -- target/aarch64-unknown-linux-gnu/debian/mt-trafmon_*_arm64.deb ;;
        armhf) set -- target/armv7-unknown-linux-gnueabihf/debian/mt-trafmon_*_armhf.deb ;;
    esac
    if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
        fail "want exactly one package, found: $*"
    fi
    echo "$1"
}

# ---- 1. lintian --------------------------------------------------------
step "lintian"
for arch in amd64 arm64 armhf; do
    deb=$(deb_for "$arch")
    out=$(lintian --info --display-info --pedantic "$deb" 2>&1 || true)
    printf '%s\n' "$out" | grep -E '^[EWIPX]: ' || true
    bad=$(printf '%s\n' "$out" | grep -E '^[EW]: ' |
        grep -vE ": ($(echo "$archive_only_tags" | tr ' ' '|'))( |$)" || true)
    [ -z "$bad" ] || fail "lintian on $deb:
$bad"
    # The synopsis is Cargo.toml's description, whole (apt shows it cut
    # when it is too long) and under 80 characters.
    synopsis=$(dpkg-deb -f "$deb" Description | head -n 1)
    if [ "$synopsis" != "$(sed -n 's/^description = "\(.*\)"$/\1/p' Cargo.toml)" ] ||
        [ "${#synopsis}" -ge 80 ]; then
        fail "$deb: synopsis '$synopsis' (Cargo.toml's description, under 80 characters)"
    fi
    echo "$deb: $(wc -c <"$deb") bytes, lintian clean, synopsis: $synopsis"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/mt-trafmon-test-deb.XXXXXX")
pids=""
cleanup() {
    for pid in $pids; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- 1b. what the binaries need at run time, and how they are linked ---
# Only libc, libm and libgcc_s (librrd is linked in), and no glibc symbol
# newer than 2.36, which the packages' Depends promise; the RELR
# relocations come with the GLIBC_ABI_DT_RELR version that glibc requires.
# scripts/build-deb.sh's link settings (docs/cross-build.md, section 6)
# keep PIE, RELRO and BIND_NOW and drop the unwind tables; without them a
# panic must still print its message and location and abort: --help into a
# pipe whose reader has gone fails to print (Rust ignores SIGPIPE), which
# panics, and RUST_BACKTRACE=1 makes it walk the stack as well.
step "run-time needs, linking, panics"
for triple in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
    case "$triple" in
        x86_64-*) runner="" ;;
        aarch64-*) runner="qemu-aarch64 -L /usr/aarch64-linux-gnu" ;;
        armv7-*) runner="qemu-arm -L /usr/arm-linux-gnueabihf" ;;
    esac
    binary=target/$triple/release/mt-trafmon
    needed=$(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
    expect_needed="libc.so.6 libgcc_s.so.1 libm.so.6 "
    [ "$needed" = "$expect_needed" ] || fail "$binary needs: $needed"
    glibc=$(readelf -V "$binary" | grep -o 'GLIBC_[0-9.]*[0-9]' | sort -uV | tail -n 1)
    [ "$(printf '%s\nGLIBC_2.36\n' "$glibc" | sort -V | tail -n 1)" = GLIBC_2.36 ] ||
        fail "$binary needs $glibc, the packages promise 2.36"
    readelf -V "$binary" | grep -q 'Name: GLIBC_ABI_DT_RELR' ||
        fail "$binary: no GLIBC_ABI_DT_RELR version (packed relocations missing, or glibc would refuse them)"
    readelf -d "$binary" | grep -q '(RELR)' || fail "$binary: no packed relative relocations"
    readelf -d "$binary" | grep -q 'Flags:.* PIE' || fail "$binary is not PIE"
    readelf -d "$binary" | grep -q '(FLAGS).*BIND_NOW' || fail "$binary: no BIND_NOW"
    readelf -lW "$binary" | grep -q GNU_RELRO || fail "$binary: no RELRO"
    tables=$(readelf -SW "$binary" | grep -oE '\.(eh_frame(_hdr)?|gcc_except_table|ARM\.ex(idx|tab))' || true)
    [ -z "$tables" ] || fail "$binary has unwind tables: $tables"
    # In $work, so that a core file, if the system writes one, goes with it.
    # shellcheck disable=SC2086 # $runner is a command with its options, or empty
    (
        program=$PWD/$binary
        cd "$work"
        {
            sleep 1
            if RUST_BACKTRACE=1 $runner "$program" --help 2>panic.err; then
                echo 0 >panic.status
            else
                echo "$?" >panic.status
            fi
        } | true
    )
    status=$(cat "$work/panic.status")
    if [ "$status" -ne 134 ] || ! grep -q "panicked at " "$work/panic.err" ||
        ! grep -q "failed printing to stdout" "$work/panic.err"; then
        cat "$work/panic.err" >&2
        fail "$binary: a panic did not report and abort (status $status; abort is 134)"
    fi
    size=$(wc -c <"$binary")
    echo "$binary: $size bytes, needs $needed(symbols up to $glibc, and GLIBC_ABI_DT_RELR of 2.36), PIE, RELRO, BIND_NOW, RELR, no unwind tables; a panic says \"$(grep -o 'panicked at [^:]*:[0-9]*' "$work/panic.err")\" and aborts"
    case "$triple" in
        x86_64-*) ;;
        *) [ "$size" -le "$size_budget" ] || fail "$binary is $size bytes, over the budget of $size_budget" ;;
    esac
done

# ---- 2. the ARM binaries under qemu-user -------------------------------
cargo build --locked --quiet --bin routeros-sim

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $1 seconds until the command after it succeeds.
wait_for() {
    limit=$1
    shift
    waited=0
    until "$@"; do
        [ "$waited" -lt "$limit" ] || return 1
        sleep 1
        waited=$((waited + 1))
    done
}
sim_ready() { grep -q "listening on" "$work/sim.out"; }
file_created() { [ -f "$file" ] && grep -q "created" "$run/log"; }
file_changed() { [ "$(sha256sum <"$file")" != "$first" ]; }

"$PWD/target/debug/routeros-sim" --port 0 >"$work/sim.out" 2>"$work/sim.err" &
pids="$pids $!"
wait_for 20 sim_ready || fail "routeros-sim did not start"
sim_port=$(sed -n 's/^routeros-sim listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/sim.out")
[ -n "$sim_port" ] || fail "routeros-sim said: $(cat "$work/sim.out")"
# The simulator's password "secret" in the xor: form for this machine,
# computed here independently (docs/original.md, section 6). The binaries
# under qemu-user read the host's machine id, as this does.
xor_secret=$(python3 - <<'EOF'
import base64, hashlib
def machine_id():
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path, "rb") as f:
                return f.read().strip()
        except OSError:
            pass
    return b""
key = hashlib.sha256(machine_id() or b"mt-trafmon-static-fallback-key-v1").digest()
print("xor:" + base64.b64encode(bytes(b ^ key[i % 32] for i, b in enumerate(b"secret"))).decode())
EOF
)

for triple in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
    case "$triple" in
        aarch64-*) qemu="qemu-aarch64 -L /usr/aarch64-linux-gnu" ;;
        armv7-*) qemu="qemu-arm -L /usr/arm-linux-gnueabihf" ;;
    esac
    binary=target/$triple/release/mt-trafmon
    step "$triple under qemu-user: $(wc -c <"$binary") bytes"
    # shellcheck disable=SC2086 # $qemu is a command with its options
    version=$($qemu "$binary" -v)
    echo "$version"
    [ "$version" = "mt-trafmon $(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)" ] ||
        fail "$triple -v said: $version"

    run=$work/$triple
    mkdir -p "$run/data"
    web_port=$(free_port)
    cat >"$run/mt-trafmon.toml" <<EOF
[storage]
data_dir = "$run/data"
profile = "compact"

[[router]]
name = "sim"
host = "127.0.0.1"
port = $sim_port
user = "reader"
password = "$xor_secret"

[[router.interface]]
name = "ether1"
EOF
    if [ "$live_api" = yes ]; then
        cat >>"$run/mt-trafmon.toml" <<EOF

[web]
listen = "127.0.0.1"
port = $web_port
allow = ["127.0.0.1"]
EOF
        mode=""
    else
        mode=-c
    fi
    # shellcheck disable=SC2086 # $qemu is a command with its options; $mode is empty or -c
    $qemu "$binary" $mode --config "$run/mt-trafmon.toml" >"$run/log" 2>&1 &
    daemon=$!
    pids="$pids $daemon"
    file=$run/data/sim-ether1.rrd
    if ! wait_for 90 file_created; then
        cat "$run/log" >&2
        fail "$triple: no RRD file after 90 s"
    fi
    # Written to again and again: the file changes between looks (both
    # targets), and for aarch64 (same layout as x86_64) rrdtool reads rising
    # last-update times and known rates.
    first=$(sha256sum <"$file")
    wait_for 15 file_changed || fail "$triple: $file is not updated"
    if [ "$triple" = aarch64-unknown-linux-gnu ]; then
        last1=$(rrdtool last "$file")
        sleep 3
        last2=$(rrdtool last "$file")
        [ "$last2" -gt "$last1" ] || fail "$triple: last update stuck at $last1"
        values=$(rrdtool lastupdate "$file" | tail -n 1)
        echo "rrdtool lastupdate: $values"
        case "$values" in
            *" U"* | "") fail "$triple: unknown values: $values" ;;
        esac
    fi
    if [ "$live_api" = yes ]; then
        live=$(python3 - "$web_port" <<'EOF'
import json, sys, time, urllib.request
# Up to 20 s for a sample with known rates (the first second has none).
for attempt in range(20):
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/live", timeout=10) as r:
        assert r.status == 200, r.status
        body = json.load(r)
    found = [i for i in body["interfaces"] if i["id"] == "sim/ether1"]
    assert found, body
    if isinstance(found[0]["rx"], (int, float)) and isinstance(found[0]["tx"], (int, float)):
        print(json.dumps(body))
        break
    time.sleep(1)
else:
    raise SystemExit(f"no known rates: {body}")
EOF
        ) || fail "$triple: GET /api/live"
        echo "/api/live: $live"
    fi
    kill -TERM "$daemon"
    status=0
    wait "$daemon" || status=$?
    [ "$status" -eq 0 ] || { cat "$run/log" >&2; fail "$triple: exit status $status after SIGTERM"; }
    grep -E "connected to|created" "$run/log"
    if grep -E "ERROR|panicked" "$run/log"; then
        fail "$triple: errors in the log"
    fi
done

# ---- 3. the amd64 package in a throwaway Debian 12 root -----------------
step "amd64 package in a throwaway Debian 12 root"
if [ "$(id -u)" -ne 0 ]; then
    if [ "${MT_TRAFMON_SKIP_ROOT_TESTS:-}" = 1 ]; then
        echo "NOT RUN: installing into a debootstrap root needs root (chroot)"
        exit 0
    fi
    fail "installing into a debootstrap root needs root (chroot); run as root, or set MT_TRAFMON_SKIP_ROOT_TESTS=1 to skip it knowingly"
fi
deb=$(deb_for amd64)
# shellcheck source=scripts/private-apt.sh
. scripts/private-apt.sh
host_debian_mirror >/dev/null # sets private_apt_codename and _mirror
mirror=$private_apt_mirror
cache_root=${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/mt-trafmon/debootstrap
if ! mkdir -p "$cache_root" 2>/dev/null || [ ! -w "$cache_root" ]; then
    cache_root=$PWD/target/debootstrap
fi
# minbase (dpkg, apt, the essential set) plus adduser (the package's
# dependency) and systemd (units and targets for systemd-analyze --root).
variant="$private_apt_codename minbase adduser systemd"
base=$cache_root/$(echo "$variant" | tr ' ' '-')
if [ ! -f "$base/.stamp" ]; then
    echo "debootstrap $variant from $mirror (once per machine)"
    rm -rf "$base.tmp"
    debootstrap --variant=minbase --include=adduser,systemd "$private_apt_codename" \
        "$base.tmp" "$mirror" >"$cache_root/debootstrap.log" 2>&1 ||
        { tail -n 20 "$cache_root/debootstrap.log" >&2; fail "debootstrap"; }
    echo "$variant" >"$base.tmp/.stamp"
    rm -rf "$base"
    mv "$base.tmp" "$base"
fi
root=$PWD/target/deb-root
rm -rf "$root"
cp -a "$base" "$root"
inroot() {
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@" </dev/null
}
expect() { # what, expected, actual
    [ "$2" = "$3" ] || fail "$1: expected '$2', found '$3'"
    echo "ok: $1: $3"
}

cp "$deb" "$root/tmp/new.deb"
inroot dpkg -i /tmp/new.deb
expect "the binary runs on a minimal Debian 12" "mt-trafmon" "$(inroot mt-trafmon -v | cut -d' ' -f1)"
user=$(inroot getent passwd mt-trafmon) || fail "no user mt-trafmon"
uid=$(echo "$user" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "mt-trafmon has uid $uid, not a system uid"
expect "user's home and shell" "/var/lib/mt-trafmon:/usr/sbin/nologin" "$(echo "$user" | cut -d: -f6-7)"
inroot getent group mt-trafmon >/dev/null || fail "no group mt-trafmon"
mode() { inroot stat -c '%U:%G %a' "$1"; }
expect "/usr/bin/mt-trafmon" "root:root 755" "$(mode /usr/bin/mt-trafmon)"
expect "/etc/mt-trafmon" "root:mt-trafmon 2770" "$(mode /etc/mt-trafmon)"
expect "/etc/mt-trafmon/mt-trafmon.toml" "root:mt-trafmon 640" "$(mode /etc/mt-trafmon/mt-trafmon.toml)"
expect "/var/lib/mt-trafmon" "mt-trafmon:mt-trafmon 750" "$(mode /var/lib/mt-trafmon)"
expect "the unit" "root:root 644" "$(mode /usr/lib/systemd/system/mt-trafmon.service)"
expect "the man page" "root:root 644" "$(mode /usr/share/man/man8/mt-trafmon.8.gz)"
# shellcheck disable=SC2016 # ${…} is dpkg-query's format syntax
expect "conffiles" "/etc/mt-trafmon/mt-trafmon.toml" \
    "$(inroot dpkg-query -W -f='${Conffiles}\n' mt-trafmon | awk 'NF { print $1 }')"
[ -L "$root/etc/systemd/system/multi-user.target.wants/mt-trafmon.service" ] ||
    fail "the unit is not enabled"
echo "ok: the unit is enabled (multi-user.target.wants)"

unit=/usr/lib/systemd/system/mt-trafmon.service
# Strict: any message (an unknown key is only a warning to systemd) fails.
verify=$(systemd-analyze verify --man=no --root="$root" "$unit" 2>&1) ||
    fail "systemd-analyze verify $unit: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify $unit: $verify"
echo "ok: systemd-analyze verify (--man=no: the man page is checked by lintian; man-db is not in the root)"
systemd-analyze security --offline=yes --root="$root" mt-trafmon.service >"$work/security" 2>&1 ||
    { cat "$work/security" >&2; fail "systemd-analyze security"; }
exposure=$(sed -n 's/.*Overall exposure level for mt-trafmon.service: \([0-9.]*\).*/\1/p' "$work/security")
grep -E '^✗' "$work/security" || true
echo "systemd-analyze security: exposure $exposure"
awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e != "" && e + 0 <= m + 0) }' ||
    fail "exposure $exposure is above $max_exposure"

# The start condition, run as the unit runs it: skip (1) with the shipped
# config, start (0) once it has a [[router]] table.
condition=$(sed -n 's/^ExecCondition=//p' "$root$unit")
status=0
inroot sh -c "$condition" || status=$?
expect "ExecCondition with the shipped config (1: skip)" 1 "$status"
cat >>"$root/etc/mt-trafmon/mt-trafmon.toml" <<'EOF'

[[router]]
host = "192.0.2.1"
user = "monitor"
password = "changed by the test"

[[router.interface]]
name = "ether1"
EOF
status=0
inroot sh -c "$condition" || status=$?
expect "ExecCondition once a router is configured (0: start)" 0 "$status"

# Upgrade: the same package with a higher version. The changed config is
# kept without a question (stdin is /dev/null: a prompt would fail), and
# so are its owner and mode, and the data.
inroot install -o mt-trafmon -g mt-trafmon -m 0640 /dev/null /var/lib/mt-trafmon/keep.rrd
CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc target/tools/cargo-deb \
    --target x86_64-unknown-linux-gnu --no-build --no-strip --quiet \
    --deb-revision 99 --output "$work/upgrade.deb" >/dev/null
cp "$work/upgrade.deb" "$root/tmp/upgrade.deb"
inroot dpkg -i /tmp/upgrade.deb
# shellcheck disable=SC2016 # ${…} is dpkg-query's format syntax
expect "version after the upgrade" "-99" "$(inroot dpkg-query -W -f='${Version}' mt-trafmon | sed 's/.*-/-/')"
grep -q 'password = "changed by the test"' "$root/etc/mt-trafmon/mt-trafmon.toml" ||
    fail "the upgrade replaced the changed config"
echo "ok: the changed config survives the upgrade"
expect "config after the upgrade" "root:mt-trafmon 640" "$(mode /etc/mt-trafmon/mt-trafmon.toml)"
expect "/etc/mt-trafmon after the upgrade" "root:mt-trafmon 2770" "$(mode /etc/mt-trafmon)"
[ -f "$root/var/lib/mt-trafmon/keep.rrd" ] || fail "the upgrade lost the data"
echo "ok: the data survives the upgrade"

inroot dpkg -r mt-trafmon
[ ! -e "$root/usr/bin/mt-trafmon" ] || fail "remove left the binary"
[ -f "$root/var/lib/mt-trafmon/keep.rrd" ] || fail "remove deleted the data"
grep -q 'changed by the test' "$root/etc/mt-trafmon/mt-trafmon.toml" || fail "remove deleted the config"
echo "ok: remove keeps the data and the config"

inroot dpkg -P mt-trafmon
[ ! -e "$root/var/lib/mt-trafmon" ] || fail "purge left /var/lib/mt-trafmon"
[ ! -e "$root/etc/mt-trafmon" ] || fail "purge left /etc/mt-trafmon"
inroot getent passwd mt-trafmon >/dev/null || fail "purge removed the system user"
echo "ok: purge deletes /var/lib/mt-trafmon and /etc/mt-trafmon, keeps the user"
rm -rf "$root"
echo
echo "test-deb.sh: all package tests passed"
