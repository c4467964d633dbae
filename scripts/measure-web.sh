#!/bin/bash
# Measures the release daemon's web server under 1,000 idle connections from
# one client (127.0.0.1) while another client (127.0.0.2, also loopback)
# keeps asking for /api/live, and the size of a one-day series answer.
# Prints the daemon's RSS and thread count before, during and after, the
# connections the server kept open, and the other client's latencies.
#   scripts/measure-web.sh [CONNECTIONS]    (default 1000)
set -eu
cd "$(dirname "$0")/.."
connections=${1:-1000}
cargo build --release --locked --quiet --bin mt-trafmon --bin routeros-sim
work=$(mktemp -d)
trap 'kill $sim $daemon 2>/dev/null || true; rm -rf "$work"' EXIT
: > "$work/sim.out"
target/release/routeros-sim --port 0 > "$work/sim.out" &
sim=$!
while ! grep -q listening "$work/sim.out"; do sleep 0.1; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/sim.out")
web=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.toml" <<TOML
[storage]
data_dir = "$work"
profile = "compact"
[[router]]
name = "sim"
host = "127.0.0.1"
port = $port
user = "reader"
password = "secret"
[[router.interface]]
name = "ether1"
[web]
listen = "127.0.0.1"
port = $web
TOML
ulimit -n 4096
target/release/mt-trafmon -q --config "$work/config.toml" &
daemon=$!
python3 - "$daemon" "$web" "$connections" <<'PY'
import json, socket, sys, time, urllib.request
pid, port, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def status():
    fields = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))
    return f"RSS {fields['VmRSS'].strip()}, peak {fields['VmHWM'].strip()}, threads {fields['Threads'].strip()}"
def ask(path, source="127.0.0.2"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    start = time.perf_counter()
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return time.perf_counter() - start, data
for _ in range(100):
    try:
        if ask("/healthz")[1].startswith(b"HTTP/1.1 200"):
            break
    except OSError:
        pass
    time.sleep(0.2)
print("before:", status())
idle = []
for _ in range(count):
    try:
        idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError as e:
        print("connect failed:", e); break
time.sleep(1)
kept = 0
for s in idle:
    s.setblocking(False)
    try:
        kept += s.recv(1) != b""
    except BlockingIOError:
        kept += 1
    except OSError:
        pass
print(f"{len(idle)} idle connections from 127.0.0.1: {kept} kept open by the server, {len(idle) - kept} closed at accept")
times = sorted(ask("/api/live")[0] * 1000 for _ in range(50))
print(f"/api/live from 127.0.0.2 meanwhile: median {times[25]:.2f} ms, max {times[-1]:.2f} ms (50 requests)")
print("during:", status())
time.sleep(16)
print("16 s later (idle timeout 10 s, idle pool threads end 5 s after):", status())
for s in idle:
    s.close()
now = int(time.time())
for span, points in ((86400, 1200), (3600, 1200), (86400 * 365, 1200)):
    t, data = ask(f"/api/series?start={now - span}&end={now}&points={points}")
    body = data.split(b"\r\n\r\n", 1)[1]
    print(f"/api/series {span} s at {points} points: {len(body)} bytes in {t * 1000:.1f} ms")
PY
