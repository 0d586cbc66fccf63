"""``gamemetrics stack install``: put on this machine what the local stack needs. Idempotent.

Debian packages (PostgreSQL, Redis, pgBackRest, a JRE and Maven when missing) with apt-get, and the Apache
Kafka broker jars from Maven Central with mvn, and TimescaleDB from its bundle when there is one
(``GAMEMETRICS_STACK_TIMESCALEDB_BUNDLE``, default ``<repo>/../shared/timescaledb``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

from operations.errors import StackError
from operations.stack import procs
from operations.stack.kafka import LocalKafka
from operations.stack.postgres import bindir
from operations.stack.settings import DEFAULT_TIMESCALEDB_BUNDLE as DEFAULT_BUNDLE, StackSettings
from operations.stack.timescaledb import install_bundle


def missing_debian_packages() -> list[str]:
    missing = []
    if bindir() is None:
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if shutil.which("java") is None:
        missing.append("openjdk-17-jre-headless")
    if shutil.which("mvn") is None:
        missing.append("maven")
    if shutil.which("pgbackrest") is None:  # backups and point-in-time restore (gamemetrics backup)
        missing.append("pgbackrest")
    return missing


def install(kafka: LocalKafka, say: Callable[[str], None], stack: StackSettings | None = None) -> None:
    packages = missing_debian_packages()
    if packages:
        if os.geteuid() != 0:
            raise StackError(f"missing Debian packages {', '.join(packages)}: run `gamemetrics stack install` as root")
        say(f"apt-get install {' '.join(packages)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        procs.run(["apt-get", "update", "-qq"], "apt-get update", env=env)
        procs.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], "apt-get install", env=env)
    else:
        say("Debian packages: PostgreSQL, Redis, pgBackRest, Java and Maven are present")
    if kafka.installed():
        say(f"Apache Kafka jars: present in {kafka.libs}")
    else:
        say(f"Apache Kafka jars: mvn dependency:copy-dependencies -> {kafka.libs}")
        kafka.install()
    bundle = (stack or StackSettings(timescaledb_bundle=DEFAULT_BUNDLE)).timescaledb_bundle
    install_bundle(bundle, bindir(), say)
