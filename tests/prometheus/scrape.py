#!/usr/bin/env python3
"""Debian's Prometheus scrapes the real mt-trafmon daemon, all on 127.0.0.1.

Run by scripts/test-prometheus.sh (which installs prometheus and builds the
binaries). It starts target/debug/routeros-sim, the daemon with two routers
on it (one with a router name holding quotes, a backslash, a line feed and
a non-ASCII letter, source = "counters", two interfaces; one with source =
"monitor-traffic"), and Prometheus with a 1 s scrape interval, a temporary
storage directory, one static 127.0.0.1 target and nothing else (no remote
write, no alerting, no rules, no service discovery). Then it checks:

- `promtool check metrics` accepts /metrics (at the start and at the end);
- every scrape worked (`up` was 1 at every scrape of the window);
- per interface and direction, `increase(mt_trafmon_interface_bytes_total[W])`
  from Prometheus's HTTP API equals, within 0.5 %, the volume (`rx_bytes`,
  `tx_bytes`) that /api/series reports for the same window. The window is
  aligned exactly: it ends at a scrape, the scrape W before it is in the
  range (so Prometheus does not extrapolate), and the byte counters of those
  two scrapes were read by the daemon at the times the scraped
  mt_trafmon_interface_last_sample_timestamp_seconds say, which give the
  /api/series window;
- the monitor-traffic router has rates but no bytes_total (by design);
- neither Prometheus nor the daemon has a TCP or UDP socket to anything but
  loopback (their sockets, looked up in /proc, checked every few seconds).

PROMETHEUS_TEST_WINDOW (seconds, default 120) sets W; the run takes W plus
about 25 s. Logs are copied to target/prometheus-artifacts/.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ARTIFACTS = os.path.join(ROOT, "target", "prometheus-artifacts")
WINDOW = int(os.environ.get("PROMETHEUS_TEST_WINDOW", "120"))
TOLERANCE = 0.005
# The router names: as TOML source, and as Prometheus returns the label.
ODD_TOML = 'lab \\"1\\" \\\\ \\n \\u00e9'
ODD = 'lab "1" \\ \n \u00e9'

# Never a proxy, whatever the environment says: everything is loopback.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url, timeout=10):
    with OPENER.open(url, timeout=timeout) as answer:
        return answer.status, answer.headers.get("Content-Type"), answer.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(what, check, seconds=30):
    end = time.time() + seconds
    last = None
    while time.time() < end:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


def sockets_of(pid):
    """The remote addresses (host, port) of the process's inet sockets."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    remotes = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        with open(f"/proc/{pid}/net/{table}") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[9] in inodes:
                    remotes.append(decode_address(fields[2]))
    return remotes


def decode_address(text):
    """/proc/net/tcp's `HEX:PORT` (IPv4 or IPv6, in host byte order words)."""
    address, port = text.split(":")
    raw = bytes.fromhex(address)
    # Each 32-bit word is in the kernel's (little-endian) byte order.
    raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(raw) == 4:
        host = socket.inet_ntop(socket.AF_INET, raw)
    else:
        host = socket.inet_ntop(socket.AF_INET6, raw)
    return host, int(port, 16)


def loopback_or_unconnected(host):
    if host in ("0.0.0.0", "::", "::1"):
        return True
    if host.startswith("::ffff:"):
        host = host[7:]
    return host.startswith("127.")


class Run:
    def __init__(self, directory):
        self.dir = directory
        self.procs = {}

    def start(self, name, args):
        log = open(os.path.join(self.dir, f"{name}.log"), "ab")
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, env=env, cwd=self.dir)
        self.procs[name] = proc
        return proc

    def check_sockets(self):
        for name in ("prometheus", "daemon"):
            proc = self.procs[name]
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}")
            for host, port in sockets_of(proc.pid):
                if not loopback_or_unconnected(host):
                    raise AssertionError(f"{name} has a socket to {host}:{port}")

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    directory = tempfile.mkdtemp(prefix="mt-trafmon-prometheus-")
    run = Run(directory)
    ok = False
    try:
        check(run, directory)
        ok = True
    finally:
        run.stop()
        for name in ("sim", "daemon", "prometheus"):
            path = os.path.join(directory, f"{name}.log")
            if os.path.exists(path):
                shutil.copy(path, ARTIFACTS)
        shutil.rmtree(directory, ignore_errors=True)
        if not ok:
            print(f"logs in {ARTIFACTS}", file=sys.stderr)


def check(run, directory):
    sim = run.start("sim", [os.path.join(ROOT, "target", "debug", "routeros-sim")])
    line = sim.stdout.readline().decode()
    sim_port = int(line.rsplit(":", 1)[1])
    web_port, prom_port = free_port(), free_port()
    config = os.path.join(directory, "mt-trafmon.toml")
    with open(config, "w") as f:
        f.write(
            f"""[storage]
data_dir = "{directory}"
profile = "compact"

[web]
listen = "127.0.0.1"
port = {web_port}

[[router]]
name = "{ODD_TOML}"
host = "127.0.0.1"
port = {sim_port}
user = "reader"
password = "secret"

[[router.interface]]
name = "ether1"
rrd = "{directory}/odd-ether1.rrd"

[[router.interface]]
name = "ether2"
rrd = "{directory}/odd-ether2.rrd"

[[router]]
name = "legacy"
host = "127.0.0.1"
port = {sim_port}
user = "reader"
password = "secret"
source = "monitor-traffic"

[[router.interface]]
name = "ether1"
"""
        )
    run.start("daemon", [os.path.join(ROOT, "target", "debug", "mt-trafmon"), "--config", config])
    base = f"http://127.0.0.1:{web_port}"

    def metrics():
        status, kind, body = get(base + "/metrics")
        assert status == 200 and kind == "text/plain; version=0.0.4; charset=utf-8", (status, kind)
        return body

    until("the daemon's first counters", lambda: b"mt_trafmon_interface_bytes_total{" in metrics())
    promtool_check(metrics())

    with open(os.path.join(directory, "prometheus.yml"), "w") as f:
        f.write(
            f"""# Written by tests/prometheus/scrape.py: one static loopback target, nothing else.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mt-trafmon
    static_configs:
      - targets: ["127.0.0.1:{web_port}"]
"""
        )
    prom_args = [
        "prometheus",
        "--config.file=prometheus.yml",
        f"--storage.tsdb.path={directory}/tsdb",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]
    run.start("prometheus", prom_args)
    api = f"http://127.0.0.1:{prom_port}/api/v1"

    def query(promql, at):
        url = api + "/query?" + urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"})
        answer = json.loads(get(url)[2])
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def first_up():
        result = query("up", time.time())
        return result and result[0]["value"][1] == "1"

    until("Prometheus's first scrape", first_up)
    started = time.time()
    print(f"scraping for {WINDOW + 8} s (window {WINDOW} s)", flush=True)
    while time.time() < started + WINDOW + 8:
        run.check_sockets()
        time.sleep(2)
    promtool_check(metrics())

    # The evaluation time: a scrape at least 3 s old (its samples are in the
    # files), with the scrape WINDOW seconds before it in the range.
    rx_odd = f'mt_trafmon_interface_bytes_total{{router="{promql_escape(ODD)}",interface="ether1",direction="rx"}}'
    samples = query(f"{rx_odd}[{WINDOW + 30}s]", time.time())[0]["values"]
    times = [t for t, _ in samples]
    ends = [t for t in times if t <= time.time() - 3 and round(t - WINDOW, 3) in times]
    assert ends, f"no scrape {WINDOW} s before another: {times}"
    end = ends[-1]
    up = query(f"count_over_time(up[{WINDOW}s]) == bool {WINDOW + 1}", end)
    assert up[0]["value"][1] == "1", f"a scrape is missing in the window: {up}"
    up = query(f"min_over_time(up[{WINDOW}s])", end)
    assert up[0]["value"][1] == "1", f"a scrape failed in the window: {up}"

    increases = query(f"increase(mt_trafmon_interface_bytes_total[{WINDOW}s])", end)
    stamps = {}
    for series in query(f"mt_trafmon_interface_last_sample_timestamp_seconds[{WINDOW}s]", end):
        values = dict(series["values"])
        key = (series["metric"]["router"], series["metric"]["interface"])
        stamps[key] = (float(values[round(end - WINDOW, 3)]), float(values[end]))
    compared = 0
    worst = 0.0
    for series in increases:
        labels = series["metric"]
        key = (labels["router"], labels["interface"])
        assert key[0] == ODD, f"bytes_total for {key}: only the counters router has it"
        first, last = stamps[key]
        start, stop = int(first), int(last)
        params = urllib.parse.urlencode(
            {"iface": f"{key[0]}/{key[1]}", "start": start, "end": stop, "points": 10}
        )
        summary = json.loads(get(f"{base}/api/series?{params}")[2])["summary"]
        ours = summary[f"{labels['direction']}_bytes"]
        theirs = float(series["value"][1])
        error = abs(theirs - ours) / ours
        worst = max(worst, error)
        print(
            f"{key[1]} {labels['direction']}: Prometheus increase {theirs:.0f} B, "
            f"/api/series {ours:.0f} B over ({start}, {stop}], known {summary['known']:.4f}; "
            f"difference {error * 100:.4f} %"
        )
        assert summary["known"] > 0.999, f"unknown time in the window: {summary}"
        assert error <= TOLERANCE, f"{key} {labels['direction']}: {theirs} vs {ours}"
        compared += 1
    assert compared == 4, f"expected 2 interfaces x 2 directions, got {compared}: {increases}"
    legacy = query('mt_trafmon_interface_bytes_per_second{router="legacy"}', end)
    assert len(legacy) == 2, f"the monitor-traffic router's rates: {legacy}"
    run.check_sockets()
    print(f"ok: promtool accepts /metrics; increase() within {worst * 100:.4f} % of /api/series")


def promql_escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def promtool_check(body):
    result = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    assert result.returncode == 0, (
        f"promtool check metrics: {result.returncode}\n{result.stdout.decode()}{result.stderr.decode()}\n"
        f"{body.decode()}"
    )


if __name__ == "__main__":
    main()
