"""``gamemetrics stack up|down|status``: the local Kafka, PostgreSQL, Redis and S3 server as one unit.

A service named by its environment variable (GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS,
GAMEMETRICS_DATABASE_URL, GAMEMETRICS_REDIS_URL, GAMEMETRICS_S3_ENDPOINT_URL) is used as it is
and never started here.
``up`` is idempotent: services already running are left alone, topics and migrations are
created only when missing.

TimescaleDB: when the extension is installed into the local PostgreSQL, ``up`` starts it with
``shared_preload_libraries = 'timescaledb'`` and says so; GAMEMETRICS_STORE_BACKEND (auto | native
| timescaledb, see store/settings.py) chooses, and ``timescaledb`` fails clearly when it is absent.
An external database is used as it is: hypertable when it can run TimescaleDB (``auto``).

Ports: the local services listen below Linux's ephemeral range (gamemetrics/settings.py). A state
folder whose services still run on the ports of before (59092, 55432, 56379, 59000) is refused by
``up`` with the command that moves them (``stack down && stack up``: every generated config naming a
port is rewritten at start, data kept); see docs/operations/local-stack-ports.md.
"""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gamemetrics.settings import LOCAL_POSTGRES_REPLICA_PORT, Settings
from operations.stack.install import install
from operations.stack.kafka import KAFKA_VERSION, LocalKafka
from operations.stack.paths import StackPaths
from operations.stack.postgres import LocalPostgres
from operations.stack.redis import LocalRedis
from operations.stack.replica import LocalReplica
from operations.stack.s3 import VERSITYGW_VERSION, LocalS3
from retention.settings import S3Settings
from operations.errors import StackError
from store.settings import StoreSettings
from operations.stack.settings import StackSettings

if TYPE_CHECKING:
    from operations.backup.pgbackrest import PgBackRest
    from operations.backup.settings import BackupSettings


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    external: bool
    running: bool
    address: str
    detail: str = ""


class LocalStack:
    def __init__(
        self, settings: Settings, say: Callable[[str], None] = lambda _msg: None, store: StoreSettings | None = None,
        s3: S3Settings | None = None, secure: bool = False, backup: bool = False, replica: bool = False,
    ) -> None:
        """``secure``: run the secured broker instead (SASL_SSL, SCRAM-SHA-512, ACLs; same port, own data).
        ``backup``: PostgreSQL archives its WAL to pgBackRest (operations/backup), whose repository is a
        bucket of the S3 server, served over TLS on a second port; remembered in the state folder.
        ``replica``: a streaming replica of the local PostgreSQL on its own port (operations/stack/replica.py),
        GAMEMETRICS_DATABASE_READ_URL in the environment printed; remembered in the state folder."""
        self.settings = settings
        self.say = say
        self.store = store or StoreSettings(backend="auto")
        self.s3_settings = s3 if s3 is not None else S3Settings()
        self.secure = secure
        self.paths = StackPaths.under(settings.state_dir)
        self.kafka = LocalKafka(self.paths.kafka)
        if secure:
            self.kafka = LocalKafka(self.paths.kafka_secure, secure=True)
            self.kafka.use_libs_of(LocalKafka(self.paths.kafka))
        # native means plain PostgreSQL: nothing preloaded; otherwise TimescaleDB when it is installed
        self.postgres = LocalPostgres(self.paths.postgres, preload=() if self.store.backend == "native" else None)
        self.redis = LocalRedis(self.paths.redis)
        s3s = self.s3_settings
        self.s3 = LocalS3(self.paths.s3, access_key=s3s.access_key_id,
                          secret_key=s3s.secret_access_key.get_secret_value(), region=s3s.region)
        self.backup_marker = self.paths.postgres / "BACKUP"
        self.backup = backup or self.backup_marker.exists()
        self.replica_marker = self.paths.postgres / "REPLICA"
        self.with_replica = replica or self.replica_marker.exists()
        self.replica = LocalReplica(self.paths.postgres / "replica", self.postgres, LOCAL_POSTGRES_REPLICA_PORT)

    def backup_settings(self) -> "BackupSettings":
        from operations.backup.settings import BackupSettings

        s3 = self.s3_settings
        return BackupSettings(s3_access_key_id=s3.access_key_id, s3_secret_access_key=s3.secret_access_key,
                              s3_region=s3.region, s3_ca_file=self.s3_tls().tls().ca_file)

    def s3_tls(self) -> LocalS3:
        """The S3 server's second listener, over TLS (pgBackRest's repository): same data, own pid and log."""
        from operations.backup.settings import LOCAL_S3_TLS_PORT

        tls = LocalS3(self.paths.s3 / "tls", port=LOCAL_S3_TLS_PORT, access_key=self.s3.access_key,
                      secret_key=self.s3.secret_key, region=self.s3.region, tls_dir=self.paths.s3 / "tls")
        tls.bin_dir, tls.data, tls.meta = self.s3.bin_dir, self.s3.data, self.s3.meta
        return tls

    # which services are ours to run
    @property
    def own_kafka(self) -> bool:
        return not self.settings.explicitly_set("kafka_bootstrap_servers")

    @property
    def own_postgres(self) -> bool:
        return not self.settings.explicitly_set("database_url")

    @property
    def own_redis(self) -> bool:
        return not self.settings.explicitly_set("redis_url")

    @property
    def own_s3(self) -> bool:
        return not self.s3_settings.explicitly_set("endpoint_url")

    def install(self, stack: StackSettings | None = None, s3: bool = True) -> None:
        """What the stack needs; ``s3=False`` leaves out the S3 server (only retention and GDPR use it;
        building it is the slow part: ``install_s3`` does it when first needed)."""
        install(self.kafka, self.say, stack)
        if s3:
            self.install_s3()

    def install_s3(self) -> None:
        """Build the S3 server (versitygw) unless it is there, with a progress line: about 10 minutes on 2 cores."""
        if self.s3.installed():
            self.say(f"S3 server: versitygw present ({self.s3.binary()})")
        else:
            self.say(f"S3 server: go install versitygw {VERSITYGW_VERSION} -> {self.s3.bin_dir} (about 10 minutes the"
                     " first time on 2 cores; only retention and GDPR need it)")
            self.s3.install()

    def up(self) -> dict[str, str]:
        """Start what is ours, wait for every service, create topics and run migrations."""
        from store.migrate import upgrade
        from streams.topics import ensure_topics

        s = self.settings
        self.check_ports()
        if self.own_kafka:
            started = self.kafka.start()
            self.say(f"kafka {KAFKA_VERSION}: {'started' if started else 'already running'} on {s.kafka_bootstrap_servers}")
        self.kafka.wait_ready(s.kafka_bootstrap_servers)
        tool = self._backup_prepare() if self.backup else None
        if self.own_postgres:
            self.start_postgres()
        self.postgres.wait_ready(s.database_url)
        if self.own_postgres and self.postgres.ensure_database():
            self.say("postgresql: created database gamemetrics")
        if self.own_postgres and self.with_replica:
            self.replica_marker.write_text("a streaming replica (stack up --replica)\n")
            started = self.replica.start()
            self.replica.wait_ready(self.replica.url)
            self.say(f"postgresql replica: {'started' if started else 'already running'} on 127.0.0.1:{self.replica.port}")
        if self.own_postgres:
            self.check_preloaded()
        if self.own_redis:
            started = self.redis.start()
            self.say(f"redis: {'started' if started else 'already running'} on 127.0.0.1:{self.redis.port}")
        self.redis.wait_ready(s.redis_url)
        self._s3_up()
        admin = self.kafka.admin_security() if self.secure and self.own_kafka else s.kafka_security()
        created = ensure_topics(s.kafka_bootstrap_servers, s.topic_prefix, security=admin)
        self.say(f"topics: {'created ' + ', '.join(created) if created else 'all present'}")
        if self.secure and self.own_kafka:
            self.say(f"kafka: {self.kafka.apply_acls(s.topic_prefix)} ACLs in effect for prefix {s.topic_prefix!r}")
            for service, path in self.write_service_env().items():
                self.say(f"kafka: credentials of {service} in {path}")
        backend = upgrade(s, backend=self.store.backend)
        kind = "a TimescaleDB hypertable" if backend == "timescaledb" else "native daily partitions"
        self.say(f"migrations: schema {s.database_schema} at head (player_events: {kind})")
        if tool is not None:
            self._backup_up(tool)
        return self.environment()

    def _backup_prepare(self) -> "PgBackRest":
        """Before PostgreSQL starts: the TLS listener of the S3 server, pgBackRest's config and the archiving
        settings in PostgreSQL's include file."""
        from operations.backup.local import backed_up

        if not (self.own_postgres and self.own_s3):
            raise StackError("stack up --backup backs up the local PostgreSQL to the local S3 server; for others run"
                             " pgBackRest where the database runs (docs/operations/disaster-recovery.md)")
        tls = self.s3_tls()
        started = tls.start()
        tls.wait_ready()
        self.say(f"s3 over TLS (pgBackRest's repository): {'started' if started else 'already running'} on {tls.endpoint_url}")
        self.backup_marker.parent.mkdir(parents=True, exist_ok=True)
        self.backup_marker.write_text("WAL archived to pgBackRest (stack up --backup)\n")
        return backed_up(self.postgres, self.backup_settings())

    def _backup_up(self, tool: "PgBackRest") -> None:
        import psycopg

        from retention.objects import ObjectStore

        settings = tool.settings
        bucket = self.s3_settings.model_copy(update={"bucket": settings.s3_bucket})
        ObjectStore(bucket).ensure_bucket()  # the plain listener, same data: the bucket is the TLS one's too
        with psycopg.connect(self.postgres.url, connect_timeout=5) as conn:
            archiving = conn.execute("SHOW archive_mode").fetchone()[0] == "on"
        if not archiving:
            self.say("postgresql: WAL archiving starts at its next restart (`gamemetrics stack down && gamemetrics"
                     " stack up`); no backup can be taken until then")
            return
        tool.stanza_create()
        tool.check()
        self.say(f"backup: pgBackRest stanza {settings.stanza} in s3://{settings.s3_bucket}{settings.s3_path},"
                 f" WAL archived (config {tool.config_file}); `gamemetrics backup run --type full` takes a backup")

    def moved_ports(self) -> list[tuple[str, int, int, str]]:
        """(service, port it runs on, port it should run on, variable to keep it there) of each of our running
        services that listens elsewhere than this stack's port: a state folder started before the ports moved."""
        own = [("kafka", self.own_kafka, self.kafka, "GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{port}"),
               ("postgresql", self.own_postgres, self.postgres,
                "GAMEMETRICS_DATABASE_URL=postgresql://gamemetrics@127.0.0.1:{port}/gamemetrics"),
               ("postgresql replica", self.own_postgres, self.replica,
                "GAMEMETRICS_DATABASE_READ_URL=postgresql://gamemetrics@127.0.0.1:{port}/gamemetrics"),
               ("redis", self.own_redis, self.redis, "GAMEMETRICS_REDIS_URL=redis://127.0.0.1:{port}/0"),
               ("s3", self.own_s3, self.s3, "GAMEMETRICS_S3_ENDPOINT_URL=http://127.0.0.1:{port}")]
        moved = []
        for name, ours, service, variable in own:
            running = service.running_port() if ours else None
            if running is not None and running != service.port:
                moved.append((name, running, service.port, variable.format(port=running)))
        return moved

    def check_ports(self) -> None:
        """Refuse to go on with services of this state folder running on other ports, saying what to do."""
        moved = self.moved_ports()
        if not moved:
            return
        where = "; ".join(f"{name} runs on port {running}, the stack's port is {wanted}" for name, running, wanted, _ in moved)
        keep = " ".join(variable for *_, variable in moved)
        raise StackError(
            f"this state folder's services were started on other ports ({where}): the local ports moved out of Linux's"
            " ephemeral range. `gamemetrics stack down && gamemetrics stack up` restarts them on the new ports (the"
            f" generated configs are rewritten at start; data is kept), or keep them where they are with {keep}"
        )

    def _s3_up(self) -> None:
        from retention.errors import ObjectStoreError
        from retention.objects import ObjectStore

        s3 = self.s3_settings
        if self.own_s3 and not self.s3.installed():  # only retention needs it: the rest of the stack still comes up
            self.say("note: s3: versitygw is not installed (archives and GDPR exports need it): run"
                     " `gamemetrics stack install --s3` when you need them")
            return
        if self.own_s3:
            started = self.s3.start()
            self.say(f"s3 (versitygw): {'started' if started else 'already running'} on {s3.endpoint_url}")
            self.s3.wait_ready()
        try:
            created = ObjectStore(s3).ensure_bucket()
            self.say(f"s3: bucket {s3.bucket} {'created' if created else 'present'}")
        except ObjectStoreError as exc:
            if self.own_s3:
                raise
            self.say(f"warning: external S3 {s3.endpoint_url} not usable ({exc}); retention needs it")

    def start_postgres(self) -> None:
        """Start the local PostgreSQL (TimescaleDB preloaded when installed, unless native is asked for)."""
        wanted = self.store.backend
        installed = self.postgres.timescaledb_installed()
        if wanted == "timescaledb" and not installed:
            raise StackError(
                "GAMEMETRICS_STORE_BACKEND=timescaledb, but TimescaleDB is not installed into the local PostgreSQL"
                f" (no timescaledb.control in {self.postgres.bin_dir()}'s share dir): run `gamemetrics stack install`"
                " with the bundle (GAMEMETRICS_TIMESCALEDB_BUNDLE) or install TimescaleDB's packages"
            )
        started = self.postgres.start()
        state = "started" if started else "already running"
        if not started:
            note = ""
        elif self.postgres.preload():
            note = " with shared_preload_libraries = 'timescaledb' (TimescaleDB installed)"
        elif wanted == "native":
            note = " (GAMEMETRICS_STORE_BACKEND=native: TimescaleDB not preloaded)"
        else:
            note = " (TimescaleDB not installed: native partitions)"
        self.say(f"postgresql: {state} on 127.0.0.1:{self.postgres.port}{note}")

    def check_preloaded(self) -> None:
        """A cluster started before TimescaleDB was installed keeps running without it until restarted."""
        if self.store.backend == "native" or "timescaledb" not in self.postgres.preload():
            return
        if "timescaledb" in self.postgres.preloaded():
            self.say("postgresql: TimescaleDB preloaded")
            return
        message = (
            "the local PostgreSQL runs without timescaledb preloaded (it was started before TimescaleDB was"
            " installed): `gamemetrics stack down && gamemetrics stack up` restarts it with TimescaleDB"
        )
        if self.store.backend == "timescaledb":
            raise StackError(f"GAMEMETRICS_STORE_BACKEND=timescaledb, but {message}")
        self.say(f"postgresql: {message}; native partitions until then")

    def environment(self) -> dict[str, str]:
        s = self.settings
        env = {
            "GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
            "GAMEMETRICS_DATABASE_URL": s.database_url,
            "GAMEMETRICS_REDIS_URL": s.redis_url,
            "GAMEMETRICS_S3_ENDPOINT_URL": self.s3_settings.endpoint_url,
            "GAMEMETRICS_STATE_DIR": str(self.paths.root),
        }
        if self.own_postgres and self.with_replica:
            env["GAMEMETRICS_DATABASE_READ_URL"] = self.replica.url
        if self.secure and self.own_kafka:  # the admin's; each service has its own env file
            env.update(self._kafka_env("admin"))
        return env

    def _kafka_env(self, user: str) -> dict[str, str]:
        client = self.kafka.client_settings(self.settings, user)
        return {
            "GAMEMETRICS_KAFKA_SECURITY_PROTOCOL": client.kafka_security_protocol,
            "GAMEMETRICS_KAFKA_SASL_MECHANISM": client.kafka_sasl_mechanism,
            "GAMEMETRICS_KAFKA_SASL_USERNAME": client.kafka_sasl_username,
            "GAMEMETRICS_KAFKA_SASL_PASSWORD": client.kafka_sasl_password.get_secret_value(),
            "GAMEMETRICS_KAFKA_SSL_CA_FILE": str(client.kafka_ssl_ca_file),
        }

    def write_service_env(self) -> dict[str, str]:
        """One ``<service>.env`` (mode 600) per principal of streams.acls with its Kafka settings; returns the paths."""
        from streams.acls import SERVICES

        written = {}
        for service in SERVICES:
            path = self.kafka.secrets_dir / f"{service}.env"
            path.write_text("".join(f"{k}={v}\n" for k, v in self._kafka_env(service).items()))
            path.chmod(0o600)
            written[service] = str(path)
        return written

    def status(self) -> list[ServiceStatus]:
        s = self.settings
        from operations.stack import procs

        def reachable(hostport: str) -> bool:
            host, _, port = hostport.rpartition(":")
            return procs.port_open(host or "127.0.0.1", int(port))

        def url_reachable(url: str, default_port: int) -> bool:
            parsed = urlsplit(url)
            return procs.port_open(parsed.hostname or "127.0.0.1", parsed.port or default_port)

        first_broker = s.kafka_bootstrap_servers.split(",")[0]
        kafka_pid = self.kafka.running_pid()
        return [
            ServiceStatus(
                "kafka", not self.own_kafka,
                kafka_pid is not None if self.own_kafka else reachable(first_broker),
                s.kafka_bootstrap_servers, f"pid {kafka_pid}, Kafka {KAFKA_VERSION}" if kafka_pid else "",
            ),
            ServiceStatus(
                "postgresql", not self.own_postgres,
                self.postgres.running() if self.own_postgres else url_reachable(s.database_url, 5432),
                s.database_url, self._postgres_detail() if self.own_postgres else "",
            ),
            ServiceStatus(
                "redis", not self.own_redis,
                self.redis.running_pid() is not None if self.own_redis else url_reachable(s.redis_url, 6379),
                s.redis_url, "",
            ),
            ServiceStatus(
                "s3", not self.own_s3,
                self.s3.running_pid() is not None if self.own_s3 else url_reachable(self.s3_settings.endpoint_url, 443),
                self.s3_settings.endpoint_url, f"versitygw {VERSITYGW_VERSION}, data {self.s3.data}" if self.own_s3 else "",
            ),
        ]

    def _postgres_detail(self) -> str:
        preloaded = self.postgres.preloaded() if self.postgres.running() else ()
        return f"data {self.postgres.data}" + (", TimescaleDB preloaded" if "timescaledb" in preloaded else "")

    def down(self, purge: bool = False) -> None:
        """Stop the project's services and the services we started (data kept unless ``purge``)."""
        from operations.stack.services import ProjectServices

        stopped = ProjectServices(self.paths.run).stop_all()
        if stopped:
            self.say(f"stopped {', '.join(stopped)}")
        if self.own_kafka:
            self.say(f"kafka: {'stopped' if self.kafka.stop() else 'not running'}")
        if self.own_redis:
            self.say(f"redis: {'stopped' if self.redis.stop() else 'not running'}")
        if self.own_s3:
            self.say(f"s3: {'stopped' if self.s3.stop() else 'not running'}")
            if self.s3_tls().stop():
                self.say("s3 over TLS: stopped")
        if self.own_postgres:
            if self.replica.stop():
                self.say("postgresql replica: stopped")
            self.say(f"postgresql: {'stopped' if self.postgres.stop() else 'not running'}")
        if purge:
            self.replica.purge()
            self.postgres.purge()
            for path in (self.kafka.data, self.redis.data, self.s3.data, self.s3.meta, self.paths.run):
                shutil.rmtree(path, ignore_errors=True)
            self.say(f"purged service data under {self.paths.root}")
