"""The local stack's ports lie outside Linux's ephemeral range, and a state folder made with the old
ports (59092/59093, 55432, 56379, 59000) moves to the new ones (issue 26, item 5)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gamemetrics.settings import (LOCAL_KAFKA_CONTROLLER_PORT, LOCAL_KAFKA_PORT, LOCAL_POSTGRES_PORT,
                                  LOCAL_REDIS_PORT, Settings)
from operations.errors import StackError
from operations.stack import procs
from operations.stack.kafka import LocalKafka
from operations.stack.local import LocalStack
from retention.settings import LOCAL_S3_PORT, S3Settings
from tests.services import free_port

DEFAULTS = {"kafka": LOCAL_KAFKA_PORT, "kafka controller": LOCAL_KAFKA_CONTROLLER_PORT,
            "postgresql": LOCAL_POSTGRES_PORT, "redis": LOCAL_REDIS_PORT, "s3": LOCAL_S3_PORT}


def ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_default_ports_lie_outside_the_ephemeral_range_of_this_machine():
    low, high = ephemeral_range()
    inside = {name: port for name, port in DEFAULTS.items() if low <= port <= high}
    assert not inside, f"{inside} inside net.ipv4.ip_local_port_range {low}-{high}"
    # and outside Linux's default range too, whatever this machine is tuned to
    assert not {name: port for name, port in DEFAULTS.items() if 32768 <= port <= 60999}
    assert all(1024 < port < 32768 for port in DEFAULTS.values())
    assert len(set(DEFAULTS.values())) == len(DEFAULTS)


def test_default_ports_name_no_service_of_etc_services():
    services = Path("/etc/services")
    if not services.exists():
        pytest.skip("no /etc/services here")
    taken = {int(fields[1].split("/")[0]): fields[0] for line in services.read_text().splitlines()
             if (fields := line.split("#")[0].split()) and len(fields) > 1 and fields[1].split("/")[0].isdigit()}
    assert not {name: taken[port] for name, port in DEFAULTS.items() if port in taken}


def test_settings_defaults_use_those_ports(monkeypatch):
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL"):
        monkeypatch.delenv(f"GAMEMETRICS_{name}", raising=False)
    s, s3 = Settings(), S3Settings()
    assert s.kafka_bootstrap_servers.endswith(f":{LOCAL_KAFKA_PORT}")
    assert f":{LOCAL_POSTGRES_PORT}/" in s.database_url
    assert f":{LOCAL_REDIS_PORT}/" in s.redis_url
    assert s3.endpoint_url.endswith(f":{LOCAL_S3_PORT}")


def test_kafka_reports_the_port_its_running_config_gave_it(tmp_path):
    old = LocalKafka(tmp_path, port=59092, controller_port=59093)
    tmp_path.mkdir(exist_ok=True)
    old.config.write_text(old.server_properties())
    old.pid_file.write_text(str(os.getpid()))  # "running": a live pid
    assert LocalKafka(tmp_path).running_port() == 59092
    old.pid_file.unlink()
    assert LocalKafka(tmp_path).running_port() is None


def test_cmdline_option_reads_the_port_a_server_was_started_with():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "--port", "127.0.0.1:59000"])
    try:  # until the child has exec'd (before, /proc shows the parent's command line)
        procs.wait_until(lambda: procs.cmdline_option(proc.pid, "-c") is not None, 10, "the child's exec")
        assert procs.cmdline_option(proc.pid, "--port") == "127.0.0.1:59000"
        assert procs.cmdline_option(proc.pid, "--absent") is None
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.integration
def test_up_refuses_a_state_folder_running_on_the_old_port_and_says_what_to_do(tmp_path, monkeypatch):
    from operations.stack.redis import LocalRedis

    monkeypatch.delenv("GAMEMETRICS_REDIS_URL", raising=False)  # redis is ours in this state folder
    if not LocalRedis(tmp_path).installed():
        pytest.skip("redis-server is not installed")
    old_port = free_port()
    old = LocalRedis(tmp_path / "redis", port=old_port)  # what an older `stack up` started
    old.start()
    try:
        old.wait_ready(old.url)
        stack = LocalStack(Settings(state_dir=tmp_path))
        assert stack.own_redis and stack.redis.port == LOCAL_REDIS_PORT
        assert stack.moved_ports() == [("redis", old_port, LOCAL_REDIS_PORT,
                                        f"GAMEMETRICS_REDIS_URL=redis://127.0.0.1:{old_port}/0")]
        with pytest.raises(StackError) as refused:
            stack.up()
        message = str(refused.value)
        assert "`gamemetrics stack down && gamemetrics stack up`" in message
        assert f"redis runs on port {old_port}, the stack's port is {LOCAL_REDIS_PORT}" in message
        assert old.running_pid() is not None  # refused before touching anything
    finally:
        old.stop()


@pytest.mark.integration
def test_a_postgres_cluster_made_with_the_old_port_starts_on_the_new_one(tmp_path):
    import psycopg

    from operations.stack.postgres import LocalPostgres

    if LocalPostgres(tmp_path).bin_dir() is None:
        pytest.skip("no PostgreSQL server binaries")
    old_port, new_port = free_port(), free_port()
    made_before = LocalPostgres(tmp_path / "pg", port=old_port, preload=())
    try:
        made_before.start()
        assert made_before.running_port() == old_port
        made_before.stop()
        assert f"port = {old_port}" in (made_before.data / "postgresql.conf").read_text()  # initdb's config keeps it
        now = LocalPostgres(tmp_path / "pg", port=new_port, preload=())
        assert now.start()
        assert now.running_port() == new_port
        with psycopg.connect(now.url.rsplit("/", 1)[0] + "/postgres", connect_timeout=5) as conn:
            assert conn.execute("SHOW port").fetchone()[0] == str(new_port)
        assert not procs.port_open("127.0.0.1", old_port)
    finally:
        LocalPostgres(tmp_path / "pg", preload=()).stop()
        LocalPostgres(tmp_path / "pg", preload=()).purge()
