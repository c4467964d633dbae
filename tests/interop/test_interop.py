"""Cross-check of the `routeros-sim` binary with two independent RouterOS API
clients from PyPI: librouteros 4.2.2 and routeros-api 0.21.0.

The two clients parse replies differently (librouteros rejects any `.tag=`
word and casts numbers and booleans; routeros-api tags every command,
requires the tag back and keeps strings), so a simulator that satisfies
both speaks the protocol as real routers do (docs/routeros-api.md, section 8).
When a client and the simulator disagree, the simulator is wrong.

This file builds nothing: set ROUTEROS_SIM to the binary
(`cargo build --bin routeros-sim`), then run
`ROUTEROS_SIM=target/debug/routeros-sim pytest -q tests/interop`.
Every simulator is started on 127.0.0.1 with `--port 0` and stopped by a
fixture finalizer.
"""

import os
import select
import subprocess
import time

import librouteros
import pytest
import routeros_api
from librouteros.exceptions import FatalError, MultiTrapError, TrapError
from librouteros.login import token
from librouteros.query import Key
from routeros_api.exceptions import RouterOsApiCommunicationError

HOST = "127.0.0.1"
TIMEOUT = 5
ANNOUNCEMENT = "routeros-sim listening on "
INTERFACES = ["bridge1", "ether1", "ether2", "ether3", "wlan1"]


def start_simulator(*flags):
    """Starts the simulator and returns (process, port) once it listens."""
    path = os.environ.get("ROUTEROS_SIM")
    if not path:
        pytest.fail(
            "ROUTEROS_SIM is not set: point it at the routeros-sim binary "
            "(cargo build --bin routeros-sim; ROUTEROS_SIM=target/debug/routeros-sim)"
        )
    process = subprocess.Popen(
        [path, "--listen", HOST, "--port", "0", *flags],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    ready, _, _ = select.select([process.stdout], [], [], 10)
    line = process.stdout.readline() if ready else ""
    if not line.startswith(ANNOUNCEMENT):
        stop_simulator(process)
        pytest.fail(f"routeros-sim did not announce its port, first line: {line!r}")
    address = line[len(ANNOUNCEMENT):].strip()
    host, port = address.rsplit(":", 1)
    assert host == HOST, address
    return process, int(port)


def stop_simulator(process):
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def port():
    """A RouterOS 7 simulator (modern login, `!empty` replies)."""
    process, port = start_simulator()
    yield port
    stop_simulator(process)


@pytest.fixture(scope="module")
def legacy_port():
    """A pre-6.43 simulator (MD5 challenge login only)."""
    process, port = start_simulator("--legacy-login")
    yield port
    stop_simulator(process)


@pytest.fixture(scope="module")
def other_password_port():
    """A simulator older than 7.18 (no `!empty`) whose users share another password."""
    process, port = start_simulator("--password", "other", "--no-empty", "--seed", "7")
    yield port
    stop_simulator(process)


def lro(port, user="admin", password="secret", **kwargs):
    return librouteros.connect(HOST, user, password, port=port, timeout=TIMEOUT, **kwargs)


def rapi(port, user="admin", password="secret", plaintext_login=True):
    pool = routeros_api.RouterOsApiPool(
        HOST, username=user, password=password, port=port, plaintext_login=plaintext_login
    )
    pool.socket_timeout = TIMEOUT
    return pool


def check_monitor_row_lro(rows):
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["name"] == "ether1"
    rx, tx = row["rx-bits-per-second"], row["tx-bits-per-second"]
    assert isinstance(rx, int) and isinstance(tx, int), row
    # A busy WAN port: tens of Mbit/s down, a few Mbit/s up.
    assert 1_000_000 < rx < 500_000_000, row
    assert 100_000 < tx < 50_000_000, row
    assert row["fp-rx-bits-per-second"] == 0


# ---------------------------------------------------------------- librouteros


def test_librouteros_logs_in_and_reads_monitor_traffic_once(port):
    api = lro(port)
    try:
        # The original mt-trafmon's call.
        rows = tuple(api.path("interface")("monitor-traffic", interface="ether1", once=True))
        check_monitor_row_lro(rows)
    finally:
        api.close()


def test_librouteros_lists_interfaces_with_cast_values(port):
    api = lro(port)
    try:
        rows = {row["name"]: row for row in api.path("interface")}
        assert sorted(rows) == INTERFACES
        assert rows["ether3"]["disabled"] is True
        assert rows["ether3"]["running"] is False
        assert rows["ether1"]["disabled"] is False
        assert rows["ether1"]["comment"] == "WAN"
        assert rows["ether1"]["rx-byte"] > 2**32
        assert rows["wlan1"]["type"] == "wlan"
        # librouteros decodes words as ASCII, ignoring errors: the cp1250
        # bytes of "Łódź" (a3 f3 64 9f) silently become "d".
        assert rows["wlan1"]["comment"] == "d"
    finally:
        api.close()


def test_librouteros_gets_an_empty_result_for_a_query_matching_nothing(port):
    api = lro(port)
    try:
        query = api.path("interface").select(Key("name")).where(Key("name") == "nomatch")
        assert tuple(query) == ()
        both = api.path("interface").select(Key("name")).where(Key("name").In("ether1", "ether2"))
        assert sorted(row["name"] for row in both) == ["ether1", "ether2"]
    finally:
        api.close()


def test_librouteros_bad_password_is_a_trap(port):
    with pytest.raises(TrapError) as error:
        lro(port, password="wrong")
    assert str(error.value) == "invalid user name or password (6)"


def test_librouteros_user_without_api_policy_is_not_allowed(port):
    with pytest.raises(TrapError) as error:
        lro(port, user="noapi")
    assert str(error.value) == "std failure: not allowed (9)"


def test_librouteros_close_and_quit_do_not_hang(port):
    started = time.monotonic()
    api = lro(port)
    api.close()
    api = lro(port)
    with pytest.raises(FatalError) as error:
        tuple(api("/quit"))
    assert str(error.value) == "session terminated on request"
    api.close()
    assert time.monotonic() - started < 2 * TIMEOUT


def test_librouteros_unknown_command_raises_both_traps(port):
    api = lro(port)
    try:
        with pytest.raises(MultiTrapError) as error:
            tuple(api("/adress"))
        assert str(error.value) == "no such command or directory (adress), no such command prefix"
        # The session survives a trap.
        assert len(tuple(api.path("system", "identity"))) == 1
    finally:
        api.close()


# ---------------------------------------------------------------- routeros-api


def test_routeros_api_logs_in_and_reads_monitor_traffic_once(port):
    pool = rapi(port)
    try:
        api = pool.get_api()
        rows = api.get_resource("/interface").call(
            "monitor-traffic", {"interface": "ether1", "once": ""}
        )
        assert len(rows) == 1, rows
        row = rows[0]
        assert row["name"] == "ether1"
        rx, tx = row["rx-bits-per-second"], row["tx-bits-per-second"]
        assert isinstance(rx, str) and isinstance(tx, str), row
        assert 1_000_000 < int(rx) < 500_000_000, row
        assert 100_000 < int(tx) < 50_000_000, row
    finally:
        pool.disconnect()


def test_routeros_api_lists_interfaces_as_strings(port):
    pool = rapi(port)
    try:
        rows = {row["name"]: row for row in pool.get_api().get_resource("/interface").get()}
        assert sorted(rows) == INTERFACES
        assert rows["ether3"]["disabled"] == "true"
        assert rows["ether1"]["disabled"] == "false"
        assert int(rows["ether1"]["rx-byte"]) > 2**32
        # routeros-api renames `.id` to `id` and keeps undecodable bytes escaped.
        assert rows["ether1"]["id"] == "*1"
        assert rows["wlan1"]["comment"] == "\\xa3\\xf3d\\x9f"
    finally:
        pool.disconnect()


def test_routeros_api_gets_an_empty_result_for_a_query_matching_nothing(port):
    pool = rapi(port)
    try:
        assert list(pool.get_api().get_resource("/interface").get(name="nomatch")) == []
    finally:
        pool.disconnect()


def test_routeros_api_bad_password_is_a_trap(port):
    with pytest.raises(RouterOsApiCommunicationError) as error:
        rapi(port, password="wrong").get_api()
    assert error.value.original_message == b"invalid user name or password (6)"


def test_routeros_api_user_without_api_policy_is_not_allowed(port):
    with pytest.raises(RouterOsApiCommunicationError) as error:
        rapi(port, user="noapi").get_api()
    assert error.value.original_message == b"std failure: not allowed (9)"


def test_routeros_api_challenge_login_is_refused_by_a_modern_router(port):
    # The default plaintext_login=False sends a bare /login, gets a
    # challenge and answers it; RouterOS 7 refuses the answer.
    with pytest.raises(RouterOsApiCommunicationError) as error:
        rapi(port, plaintext_login=False).get_api()
    assert error.value.original_message == b"invalid user name or password (6)"


# ---------------------------------------------------------------- pre-6.43 login


def test_librouteros_token_login_on_a_legacy_router(legacy_port):
    api = lro(legacy_port, login_method=token)
    try:
        rows = tuple(api.path("interface")("monitor-traffic", interface="ether1", once=True))
        check_monitor_row_lro(rows)
    finally:
        api.close()


def test_librouteros_token_login_with_a_wrong_password_cannot_log_in(legacy_port):
    with pytest.raises(TrapError) as error:
        lro(legacy_port, password="wrong", login_method=token)
    assert str(error.value) == "cannot log in"


def test_librouteros_plain_login_on_a_legacy_router_is_not_logged_in(legacy_port):
    # librouteros' plain login ignores the `=ret=` challenge it gets back, so
    # it believes it is logged in; the first command then meets `!fatal`.
    api = lro(legacy_port)
    with pytest.raises(FatalError) as error:
        tuple(api.path("system", "identity"))
    assert str(error.value) == "not logged in"


@pytest.mark.parametrize("plaintext_login", [False, True])
def test_routeros_api_challenge_login_on_a_legacy_router(legacy_port, plaintext_login):
    pool = rapi(legacy_port, plaintext_login=plaintext_login)
    try:
        rows = pool.get_api().get_resource("/system/identity").get()
        assert [row["name"] for row in rows] == ["sim-router"]
    finally:
        pool.disconnect()


# ---------------------------------------------------------------- flags


def test_password_and_no_empty_flags(other_password_port):
    port = other_password_port
    with pytest.raises(TrapError):
        lro(port)
    api = lro(port, password="other")
    try:
        query = api.path("interface").select(Key("name")).where(Key("name") == "nomatch")
        assert tuple(query) == ()
    finally:
        api.close()
    pool = rapi(port, password="other")
    try:
        assert list(pool.get_api().get_resource("/interface").get(name="nomatch")) == []
    finally:
        pool.disconnect()
