#!/usr/bin/env python3
"""The arm64 VM test's driver (scripts/test-vm.sh makes the image and calls
this). Boots the image under qemu-system-aarch64 (-M virt, Cortex-A72,
2 vCPUs, TCG), with systemd as PID 1 and root logged in on the serial
console, and then, as a new user would:

  1. installs the arm64 .deb (dpkg -i from a second disk; the guest has no
     network but the two forwards below), and checks that the shipped
     config, which names no router, points at the wizard;
  2. runs the wizard (mt-trafmon -s) on the serial console, pressing Enter
     at every prompt but the router's address, user and password, and lets
     it start the service; checks that it prints this machine's URL;
  3. from the host, through QEMU's port forward: the page, /api/interfaces
     until the interface is "ok", /api/series with known samples;
  4. the unit's sandbox: systemctl show, the daemon's own mount namespace
     (nsenter: /usr and /etc read-only, /var/lib/mt-trafmon and
     /etc/mt-trafmon writable,
     /home empty, /tmp its own), its user, capabilities, seccomp; the
     exposure that systemd-analyze security gives inside the VM;
  5. what making the file cost: its time (the journal) and the daemon's peak
     memory (VmHWM, and the unit's cgroup memory.peak);
  6. upgrade (one revision up: restarted, config and data kept, samples go
     on), remove (data and config kept), purge (both gone, user kept).

Network: the guest reaches only what QEMU forwards: its port 8080 from
127.0.0.1 on the host (hostfwd), and 10.0.2.100:8728, which QEMU answers by
running socat to routeros-sim on the host's 127.0.0.1 (guestfwd; one socat
per connection). restrict=on cuts everything else.

Prints the minutes each phase took; the whole console goes to --log.
"""

import argparse
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

STARTED = time.monotonic()
GUEST_ADDRESS = "10.0.2.15"
ROUTER_ADDRESS = "10.0.2.100"
# The simulator's user with the read and api policies, and its password.
ROUTER_USER = "reader"
ROUTER_PASSWORD = "secret"
MAX_EXPOSURE = 2.0


class Failed(Exception):
    pass


def minutes():
    return (time.monotonic() - STARTED) / 60


# Each phase's name and when it started.
phases = []


def phase(name):
    phases.append((name, time.monotonic()))
    print(f"\n== {name} (at {minutes():.1f} min)", flush=True)


def summary():
    ends = [start for _, start in phases[1:]] + [time.monotonic()]
    print("\nminutes per phase:")
    for (name, start), end in zip(phases, ends):
        print(f"  {(end - start) / 60:5.1f}  {name}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """The guest's serial console: what it wrote, and typing into it."""

    def __init__(self, process, log):
        self.process = process
        self.log = log
        self.buffer = bytearray()
        self.seen = 0
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                return
            self.log.write(chunk)
            self.log.flush()
            with self.lock:
                self.buffer.extend(chunk)

    def text(self, start=0):
        with self.lock:
            return self.buffer[start:].decode("utf-8", "replace").replace("\r", "")

    def expect(self, pattern, timeout, what=None):
        """Waits for the regular expression (over the text since the last
        match, \\r removed, runs of whitespace as they are) and returns the
        match."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            with self.lock:
                raw = bytes(self.buffer[self.seen:])
            text = raw.decode("utf-8", "replace")
            found = regex.search(text)
            if found:
                # Back to a byte offset: the prefix up to the match's end.
                self.seen += len(text[: found.end()].encode("utf-8", "replace"))
                return found
            if self.process.poll() is not None:
                raise Failed(f"the VM ended while waiting for {what or pattern!r}")
            if time.monotonic() > deadline:
                tail = text[-3000:].replace("\r", "")
                raise Failed(f"no {what or pattern!r} within {timeout} s; the console's last output:\n{tail}")
            time.sleep(0.05)

    def type(self, text):
        self.process.stdin.write(text.encode())
        self.process.stdin.flush()

    def prompt(self, pattern, answer, timeout=120):
        """Waits for a wizard prompt (whitespace in `pattern` matches any
        run of spaces and line ends: the wizard folds long lines), then types
        the answer and Enter."""
        flexible = r"\s+".join(re.escape(word) for word in pattern.split())
        found = self.expect(flexible, timeout, what=pattern)
        self.type(answer + "\r")
        return found

    def sh(self, command, timeout=180, check=True):
        """Runs a shell command at the root prompt; returns its status and
        output. The markers are split in the typed line, so that the echo of
        the line cannot be taken for them."""
        token = secrets.token_hex(4)
        # The end marker starts a line even after output without a line end.
        self.type(f"echo '@@S''{token}'; {command}; printf '\\n@@E%s %s\\n' {token} $?\r")
        # Not anchored to line starts: the echo of a typed line may come
        # before the shell's prompt is out.
        self.expect(rf"@@S{token}", timeout, what=f"the start of: {command}")
        start = self.seen
        found = self.expect(rf"@@E{token} (\d+)\r?\n", timeout, what=f"the end of: {command}")
        with self.lock:
            output = self.buffer[start: self.seen - len(found.group(0).encode())]
        output = output.decode("utf-8", "replace").replace("\r", "")
        output = output.removeprefix("\n").removesuffix("\n")
        status = int(found.group(1))
        if check and status != 0:
            raise Failed(f"in the guest, `{command}` exited {status}:\n{output}")
        return status, output


def http_get(port, path, timeout=30):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
        return answer.status, answer.read()


def poll(what, timeout, check, every=2.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, urllib.error.URLError, ValueError, KeyError) as e:
            last = e
        time.sleep(every)
    raise Failed(f"{what}: not within {timeout} s (last error: {last})")


def expect_equal(what, expected, actual):
    if expected != actual:
        raise Failed(f"{what}: expected {expected!r}, found {actual!r}")
    print(f"ok: {what}: {actual}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--initrd", required=True)
    parser.add_argument("--root", required=True, help="the system image (not written: snapshot=on)")
    parser.add_argument("--debs", required=True, help="ext4 image holding new.deb and upgrade.deb")
    parser.add_argument("--sim", required=True, help="the routeros-sim binary")
    parser.add_argument("--memory", type=int, default=512, help="MiB")
    parser.add_argument("--log", required=True, help="where the console's output goes")
    args = parser.parse_args()

    sim = subprocess.Popen([args.sim, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = sim.stdout.readline().decode()
    found = re.match(r"routeros-sim listening on 127\.0\.0\.1:(\d+)$", line.strip())
    if not found:
        raise Failed(f"routeros-sim said: {line!r}")
    sim_port = int(found.group(1))
    web_port = free_port()
    netdev = (
        "user,id=net,restrict=on,"
        f"hostfwd=tcp:127.0.0.1:{web_port}-:8080,"
        f"guestfwd=tcp:{ROUTER_ADDRESS}:8728-cmd:socat - TCP:127.0.0.1:{sim_port}"
    )
    command = [
        "qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2",
        "-m", str(args.memory), "-nodefaults", "-display", "none",
        "-serial", "stdio", "-monitor", "none",
        "-kernel", args.kernel, "-initrd", args.initrd,
        "-append", "console=ttyAMA0 root=/dev/vda rw quiet",
        "-drive", f"file={args.root},format=raw,if=none,id=root,snapshot=on",
        "-device", "virtio-blk-pci,drive=root",
        "-drive", f"file={args.debs},format=raw,if=none,id=debs,readonly=on",
        "-device", "virtio-blk-pci,drive=debs",
        "-netdev", netdev, "-device", "virtio-net-pci,netdev=net,romfile=",
        "-device", "virtio-rng-pci",
    ]
    log = open(args.log, "wb")
    qemu = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        run(Console(qemu, log), web_port, args.memory)
    finally:
        if qemu.poll() is None:
            qemu.kill()
        qemu.wait()
        sim.kill()
        sim.wait()
        log.close()


def run(console, web_port, memory):
    phase(f"boot: qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m {memory} (TCG)")
    console.expect(r"root@mtt-vm:~# ", 900, what="the root shell on the serial console")
    # dash: no line editing or bracketed paste to get in the way; kernel
    # messages off the console (they stay in the journal).
    console.type("exec /bin/sh\r")
    # What is typed before dash reads would go to bash, and be lost.
    console.expect(r"exec /bin/sh[^#]*# ", 60, what="dash's prompt")
    console.type("PS1='vm# '; dmesg -n 1\r")
    console.expect(r"\nvm# ", 60, what="the plain shell")
    status, output = console.sh("systemctl is-system-running --wait", timeout=600, check=False)
    print(f"system state: {output.strip()} (exit {status})")
    _, output = console.sh("uname -rm; grep MemTotal /proc/meminfo; systemd --version | head -n 1")
    print(output.strip())

    phase("install the arm64 package")
    console.sh("mount -o ro /dev/vdb /mnt")
    console.sh("dpkg -i /mnt/new.deb", timeout=300)
    expect_equal("the unit is enabled by the package", "enabled",
                 console.sh("systemctl is-enabled mt-trafmon", check=False)[1].strip())
    expect_equal("and, with no router configured, not running", "inactive",
                 console.sh("systemctl is-active mt-trafmon", check=False)[1].strip())
    status, output = console.sh("mt-trafmon </dev/null 2>&1", check=False)
    if status != 1 or "mt-trafmon -s" not in output:
        raise Failed(f"mt-trafmon with the shipped config (exit {status}) does not point at the wizard:\n{output}")
    print("ok: the shipped config without a router names `mt-trafmon -s`")

    phase("the setup wizard on the serial console")
    wizard_start = console.seen
    console.type("mt-trafmon -s\r")
    console.prompt("(talk to the router's API)? [Y/n]:", "")
    console.prompt("Does this machine serve the web pages? [Y/n]:", "")
    console.prompt("Router address (IP address or host name) [192.168.88.1]:", ROUTER_ADDRESS)
    console.prompt("API port (the api service, not api-ssl) [8728]:", "")
    console.prompt("API user (its group needs the api and read policies) [monitor]:", ROUTER_USER)
    console.prompt("Password (not shown; Enter for none):", ROUTER_PASSWORD)
    console.expect(rf"OK: logged in as {ROUTER_USER}; the router has \d+ interfaces\.", 120,
                   what="the connection test")
    console.prompt(f"Router name (in logs and RRD file names) [{ROUTER_ADDRESS}]:", "")
    console.prompt("Interfaces to monitor (numbers or names, with commas) [ether1]:", "")
    console.prompt("Directory for the RRD files [/var/lib/mt-trafmon]:", "")
    console.prompt(f"RRD file of ether1 [/var/lib/mt-trafmon/{ROUTER_ADDRESS}-ether1.rrd]:", "")
    facts = console.expect(r"New files: 1; free disk: ([0-9.]+ MiB); memory available: ([0-9.]+ MiB)\.", 60,
                           what="the measured disk and memory")
    layout = console.expect(r"Layout of new RRD files \(original or compact\) \[(original|compact)\]: ", 60,
                            what="the layout prompt").group(1)
    console.type("\r")
    console.prompt("Web server port [8080]:", "")
    console.prompt("Page title [MikroTik Traffic Monitor]:", "")
    console.prompt("Allowed [private]:", "")
    console.prompt("Theme until a visitor picks one: dark or classic (light) [dark]:", "")
    console.prompt("Admin password (not shown; Enter to skip):", "")
    console.expect(r"Written to /etc/mt-trafmon/mt-trafmon\.toml\.", 60, what="the file written")
    console.prompt("Start the service now and at every boot (systemctl enable --now)? [Y/n]:", "")
    console.expect(r"The mt-trafmon service is enabled and running\.", 180, what="the service started")
    console.expect(r"The graphs, for browsers at the allowed addresses:\s+http://"
                   + re.escape(GUEST_ADDRESS) + r":8080/", 60, what="the URL to open")
    console.expect(r"\nvm# ", 60, what="the shell after the wizard")
    transcript = console.text(wizard_start)
    for wrong in ["To run it", "[::]", ROUTER_PASSWORD + "\n"]:
        if wrong in transcript:
            raise Failed(f"the wizard's transcript has {wrong!r}:\n{transcript}")
    wide = [line for line in transcript.splitlines() if len(line) > 80]
    if wide:
        raise Failed(f"wizard lines over 80 columns: {wide}")
    print(f"ok: the wizard, Enter everywhere but address, user, password; it measured "
          f"{facts.group(1)} free, {facts.group(2)} of memory, and suggested the {layout} layout")
    print(f"ok: it printed http://{GUEST_ADDRESS}:8080/ and no 'To run it'")

    phase(f"the service collects: the page and /api/series from the host (127.0.0.1:{web_port})")
    interface = "10.0.2.100/ether1"

    def ready():
        _, body = http_get(web_port, "/api/interfaces")
        found = [i for i in json.loads(body)["interfaces"] if i["id"] == interface]
        return found and found[0]["state"] == "ok" and found[0]
    state = poll("the interface's state 'ok' in /api/interfaces", 900, ready)
    print(f"ok: /api/interfaces: {json.dumps(state)}")
    status, page = http_get(web_port, "/")
    if status != 200 or b"<canvas" not in page:
        raise Failed(f"GET / answered {status}: {page[:200]!r}")
    print(f"ok: GET / answers 200 with the page ({len(page)} bytes)")

    def samples():
        _, body = http_get(web_port, "/api/interfaces")
        now = int(json.loads(body)["now"])
        _, body = http_get(web_port, f"/api/series?iface={interface}&start={now - 60}&end={now}&points=60")
        series = json.loads(body)
        known = [v for v in series["rx"] if v is not None]
        return len(known) >= 5 and series
    series = poll("five known samples in /api/series", 180, samples)
    known = [v for v in series["rx"] if v is not None]
    print(f"ok: /api/series: {len(known)} known rx values in the last minute, "
          f"e.g. {known[-1]} bit/s; last update {series['last_update']}")

    phase("what making the file cost")
    _, journal = console.sh("journalctl -u mt-trafmon -o short-unix --no-pager | grep -E 'creating|created|memory|cannot'")
    print(journal.strip())
    stamps = [float(line.split()[0]) for line in journal.splitlines() if re.search(r" (creating|created) ", line)]
    if len(stamps) >= 2:
        print(f"file creation took {stamps[-1] - stamps[0]:.1f} s ({layout} layout)")
    _, output = console.sh("grep -E 'VmHWM|VmRSS' /proc/$(systemctl show -p MainPID --value mt-trafmon)/status")
    print(f"the daemon's memory since it started (it made the file): {' '.join(output.split())}")
    _, output = console.sh("cat /sys/fs/cgroup/system.slice/mt-trafmon.service/memory.peak")
    print(f"the unit's cgroup memory.peak (page cache included): {int(output) / 2**20:.1f} MiB")
    # The file has the layout's size: its data area (rows x 2 x 8 bytes)
    # and a header of a few KiB.
    size = int(console.sh(f"stat -c %s '{state['rrd']}'")[1])
    data = {"original": 875_197_440, "compact": 35_020_800}[layout]
    if not data < size < data + (1 << 20):
        raise Failed(f"{state['rrd']} has {size} bytes, not the {layout} layout's {data} and a header")
    print(f"ok: {state['rrd']}: {size} bytes, the {layout} layout")

    phase("the unit's sandbox")
    properties = ["User", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "NoNewPrivileges",
                  "ProtectProc", "ProcSubset", "MemoryDenyWriteExecute", "ReadWritePaths", "CapabilityBoundingSet",
                  "RestrictAddressFamilies", "PrivateUsers"]
    _, output = console.sh("systemctl show mt-trafmon " + " ".join(f"-p {p}" for p in properties))
    shown = dict(line.split("=", 1) for line in output.strip().splitlines() if "=" in line)
    for key, value in [("User", "mt-trafmon"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("PrivateDevices", "yes"), ("NoNewPrivileges", "yes"),
                       ("ProtectProc", "invisible"), ("ProcSubset", "pid"), ("MemoryDenyWriteExecute", "yes"),
                       ("ReadWritePaths", "/var/lib/mt-trafmon /etc/mt-trafmon"), ("CapabilityBoundingSet", ""),
                       ("PrivateUsers", "yes")]:
        expect_equal(f"systemctl show -p {key}", value, shown.get(key))
    pid = console.sh("systemctl show -p MainPID --value mt-trafmon")[1].strip()
    _, status_lines = console.sh(f"stat -c %U /proc/{pid}; grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/{pid}/status")
    print(status_lines.strip())
    owner, *rest = status_lines.split()
    expect_equal("the daemon's user", "mt-trafmon", owner)
    fields = dict(zip(rest[0::2], rest[1::2]))
    expect_equal("NoNewPrivs", "1", fields.get("NoNewPrivs:"))
    expect_equal("Seccomp (2: filter)", "2", fields.get("Seccomp:"))
    expect_equal("effective capabilities", "0000000000000000", fields.get("CapEff:"))
    # In the daemon's own mount namespace (nsenter, as root: even root
    # cannot write a read-only mount).
    inside = f"nsenter -t {pid} -m --"
    for path in ["/usr/bin/mtt-probe", "/etc/mtt-probe", "/var/lib/mtt-probe"]:
        status, output = console.sh(f"{inside} touch {path} 2>&1", check=False)
        if status == 0 or "Read-only file system" not in output:
            raise Failed(f"writing {path} in the daemon's namespace: exit {status}: {output}")
        print(f"ok: {path}: {output.strip()}")
    console.sh(f"{inside} sh -c 'touch /var/lib/mt-trafmon/.probe && rm /var/lib/mt-trafmon/.probe'")
    print("ok: /var/lib/mt-trafmon is writable there")
    # The settings page saves the config: /etc/mt-trafmon alone of /etc is
    # writable, for the daemon's own user.
    console.sh(f"{inside} setpriv --reuid mt-trafmon --regid mt-trafmon --clear-groups "
               "sh -c 'touch /etc/mt-trafmon/.probe && rm /etc/mt-trafmon/.probe'")
    expect_equal("/etc/mt-trafmon", "root:mt-trafmon 2770",
                 console.sh("stat -c '%U:%G %a' /etc/mt-trafmon")[1].strip())
    print("ok: /etc/mt-trafmon is writable there, by mt-trafmon")
    console.sh("touch /tmp/outside /root/outside")
    status, output = console.sh(f"{inside} sh -c 'ls -A /tmp /home; test ! -e /tmp/outside && test ! -e /root/outside'",
                                check=False)
    if status != 0:
        raise Failed(f"the daemon sees the host's /tmp or /root: {output}")
    print("ok: its /tmp is its own, /root and /home are out of sight")
    _, output = console.sh("systemd-analyze security --no-pager mt-trafmon 2>&1 | grep -E '^✗|Overall exposure'", timeout=300)
    print(output.strip())
    found = re.search(r"Overall exposure level for mt-trafmon\.service: ([0-9.]+)", output)
    if not found or float(found.group(1)) > MAX_EXPOSURE:
        raise Failed(f"systemd-analyze security: {output}")
    print(f"ok: systemd-analyze security inside the VM: exposure {found.group(1)} (at most {MAX_EXPOSURE})")

    phase("upgrade, remove, purge")
    config_hash = console.sh("sha256sum /etc/mt-trafmon/mt-trafmon.toml")[1].split()[0]
    last_before = series["last_update"]
    console.sh("dpkg -i /mnt/upgrade.deb", timeout=300)
    expect_equal("version after the upgrade", "-99",
                 "-" + console.sh("dpkg-query -W -f='${Version}' mt-trafmon")[1].strip().rsplit("-", 1)[1])
    new_pid = console.sh("systemctl show -p MainPID --value mt-trafmon")[1].strip()
    if new_pid in ("0", pid):
        raise Failed(f"the service was not restarted by the upgrade (MainPID {pid} -> {new_pid})")
    print(f"ok: restarted by the upgrade (MainPID {pid} -> {new_pid})")
    expect_equal("the wizard's config after the upgrade", config_hash,
                 console.sh("sha256sum /etc/mt-trafmon/mt-trafmon.toml")[1].split()[0])

    def newer():
        _, body = http_get(web_port, "/api/interfaces")
        now = int(json.loads(body)["now"])
        _, body = http_get(web_port, f"/api/series?iface={interface}&start={now - 60}&end={now}&points=60")
        return json.loads(body)["last_update"] > last_before + 5
    poll("samples after the upgrade", 300, newer)
    print("ok: samples go on after the upgrade, into the same file")
    console.sh("dpkg -r mt-trafmon", timeout=300)
    expect_equal("after remove, the service", "inactive",
                 console.sh("systemctl is-active mt-trafmon", check=False)[1].strip())
    console.sh("test ! -e /usr/bin/mt-trafmon && test -f /etc/mt-trafmon/mt-trafmon.toml && "
               "ls /var/lib/mt-trafmon/*.rrd")
    print("ok: remove keeps the config and the RRD file")
    console.sh("dpkg -P mt-trafmon", timeout=300)
    console.sh("test ! -e /var/lib/mt-trafmon && test ! -e /etc/mt-trafmon && getent passwd mt-trafmon")
    print("ok: purge deletes /var/lib/mt-trafmon and /etc/mt-trafmon, keeps the user")

    phase("power off")
    console.type("poweroff -f\r")
    deadline = time.monotonic() + 120
    while console.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    summary()
    print(f"\ntest-vm.py: all VM tests passed in {minutes():.1f} min")


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        summary()
        print(f"test-vm.py: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
