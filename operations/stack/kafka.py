"""A single-node Apache Kafka broker in KRaft mode, run with ``java -cp`` from Maven Central jars.

Version choice: 3.9.1, the last 3.x release. Kafka 4.0 removed the protocol versions older than
2.1 (KIP-896); aiokafka, the client under faust-streaming, still negotiates some old request
versions and its 4.x support is an open question upstream, while confluent-kafka (librdkafka)
works with both lines. 3.9 runs KRaft without ZooKeeper, which is all we need.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import subprocess
import uuid
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from operations.errors import StackError
from gamemetrics.settings import LOCAL_KAFKA_CONTROLLER_PORT, LOCAL_KAFKA_PORT
from operations.stack import procs
from operations.stack.tls import BrokerTls, ensure_broker_tls

if TYPE_CHECKING:
    from gamemetrics.settings import Settings

KAFKA_VERSION = "3.9.1"
JVM_HEAP = ("-Xms512m", "-Xmx1g")
READY_TIMEOUT_S = 90.0

SERVER_PROPERTIES = """\
# Written by `gamemetrics stack up`; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
log.segment.bytes=268435456
message.max.bytes=8388608
num.network.threads=2
num.io.threads=4
"""

# The secured mode (`gamemetrics stack up --secure`): clients on SASL_SSL with SCRAM-SHA-512 (users
# created at format time, one per service, see streams/acls.py), the controller listener on
# SASL_PLAINTEXT with PLAIN (SCRAM cannot authenticate the controller quorum in KRaft), KRaft's
# StandardAuthorizer, nothing allowed without an ACL.
SECURE_LISTENERS = """\
listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=SASL_SSL://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="{admin_password}";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="{controller_password}" user_controller="{controller_password}";
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.truststore.type=PEM
ssl.truststore.location={ca}
ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:controller
allow.everyone.if.no.acl.found=false
"""
CONTROLLER_USER = "controller"

LOG4J_PROPERTIES = """\
log4j.rootLogger=WARN, file
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what kafka-storage makes)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


class LocalKafka:
    def __init__(
        self, root: Path, port: int = LOCAL_KAFKA_PORT, controller_port: int = LOCAL_KAFKA_CONTROLLER_PORT,
        secure: bool = False,
    ) -> None:
        """``secure``: SASL_SSL + SCRAM-SHA-512 + ACLs (see SECURE_LISTENERS); users, passwords and the
        certificates live under ``root/secure``."""
        self.root = root
        self.secure = secure
        self.secrets_dir = root / "secure"
        self.credentials_file = self.secrets_dir / "credentials.json"
        self.controller_port = controller_port
        self.libs = root / f"libs-{KAFKA_VERSION}"
        self.data = root / "data"
        self.config = root / "server.properties"
        self.log4j = root / "log4j.properties"
        self.log = root / "server.log"
        self.stdout = root / "stdout.log"
        self.pid_file = root / "kafka.pid"
        self.port = port

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def installed(self) -> bool:
        return (self.libs / ".complete").exists()

    def use_libs_of(self, other: "LocalKafka") -> None:
        """Run from another instance's jars (tests start extra brokers without a second download)."""
        self.libs = other.libs

    def install(self) -> None:
        """Copy the broker jars and their dependencies from Maven Central (via ~/.m2) with mvn."""
        if self.installed():
            return
        if shutil.which("mvn") is None or shutil.which("java") is None:
            raise StackError("Kafka needs java and mvn on PATH; run `gamemetrics stack install` as root")
        pom = resources.files("operations.stack") / "kafka-pom.xml"
        self.libs.mkdir(parents=True, exist_ok=True)
        procs.run(
            [
                "mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                f"-Dkafka.version={KAFKA_VERSION}", f"-DoutputDirectory={self.libs}", "-DincludeScope=runtime",
            ],
            f"downloading Apache Kafka {KAFKA_VERSION} from Maven Central",
        )
        if not any(self.libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
            raise StackError(f"mvn finished but {self.libs} holds no kafka_2.13-{KAFKA_VERSION}.jar")
        (self.libs / ".complete").write_text(KAFKA_VERSION + "\n")

    def running_pid(self) -> int | None:
        return procs.read_pid(self.pid_file)

    def running_port(self) -> int | None:
        """The client port of the running broker (the ``listeners=`` its config, rewritten at every start,
        gave it); None when it is down."""
        if self.running_pid() is None:
            return None
        try:
            text = self.config.read_text()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("listeners="):
                port = line.split(",")[0].rpartition(":")[2]
                return int(port) if port.isdigit() else None
        return None

    def _java(self, *args: str) -> list[str]:
        return ["java", *JVM_HEAP, "-cp", f"{self.libs}/*", f"-Dlog4j.configuration=file:{self.log4j}", *args]

    # -- the secured mode ------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        """user -> password of every SCRAM user (admin and one per service), generated on first use."""
        from streams.acls import ADMIN, SERVICES

        if self.credentials_file.exists():
            return json.loads(self.credentials_file.read_text())
        self.secrets_dir.mkdir(parents=True, exist_ok=True)
        users = {user: secrets.token_urlsafe(24) for user in (ADMIN, CONTROLLER_USER, *SERVICES)}
        self.credentials_file.write_text(json.dumps(users, indent=2))
        self.credentials_file.chmod(0o600)
        return users

    def tls(self) -> BrokerTls:
        return ensure_broker_tls(self.secrets_dir)

    def client_settings(self, settings: "Settings", user: str) -> "Settings":
        """``settings`` pointed at this broker as ``user`` (one of streams.acls.SERVICES, or admin)."""
        update: dict[str, object] = {"kafka_bootstrap_servers": self.bootstrap_servers}
        if self.secure:
            from pydantic import SecretStr

            update.update(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                          kafka_ssl_ca_file=self.tls().ca_file, kafka_sasl_username=user,
                          kafka_sasl_password=SecretStr(self.credentials()[user]))
        return settings.model_copy(update=update)

    def admin_security(self) -> dict[str, str]:
        """confluent-kafka security config of the admin (super) user; empty when not secured."""
        if not self.secure:
            return {}
        from streams.acls import ADMIN

        return {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": ADMIN,
                "sasl.password": self.credentials()[ADMIN], "ssl.ca.location": str(self.tls().ca_file)}

    def apply_acls(self, prefix: str = "", timeout_s: float = 30.0) -> int:
        """Create the service ACLs of ``streams.acls`` for the deployment with topic ``prefix``; returns how many."""
        from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                           ResourcePatternType, ResourceType)

        from streams.acls import service_acls

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, **self.admin_security()})
        resource = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
        pattern = {"literal": ResourcePatternType.LITERAL, "prefixed": ResourcePatternType.PREFIXED}
        operation = {"read": AclOperation.READ, "write": AclOperation.WRITE, "describe": AclOperation.DESCRIBE}
        bindings = [
            AclBinding(resource[a.resource], a.name, pattern[a.pattern], f"User:{a.principal}", "*",
                       operation[a.operation], AclPermissionType.ALLOW)
            for a in service_acls(prefix)
        ]
        for binding, future in admin.create_acls(bindings, request_timeout=timeout_s).items():
            try:
                future.result(timeout=timeout_s)
            except Exception as exc:
                raise StackError(f"creating ACL {binding} failed: {exc}") from exc
        # the controller has them; wait until the broker's authorizer does too (a moment later)
        wanted = {(b.restype, b.name, b.resource_pattern_type, b.principal, b.operation) for b in bindings}
        everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                      AclOperation.ANY, AclPermissionType.ANY)

        def in_effect() -> bool:
            found = admin.describe_acls(everything, request_timeout=timeout_s).result(timeout=timeout_s)
            return wanted <= {(b.restype, b.name, b.resource_pattern_type, b.principal, b.operation) for b in found}

        procs.wait_until(in_effect, timeout_s, "the ACLs in effect on the broker", self.log)
        return len(bindings)

    def server_properties(self) -> str:
        """The broker's config: SERVER_PROPERTIES, its PLAINTEXT listener lines swapped for SECURE_LISTENERS when secured."""
        text = SERVER_PROPERTIES.format(port=self.port, controller_port=self.controller_port, data=self.data)
        if not self.secure:
            return text
        users, tls = self.credentials(), self.tls()
        secured = SECURE_LISTENERS.format(
            port=self.port, controller_port=self.controller_port, admin_password=users["admin"],
            controller_password=users[CONTROLLER_USER], keystore=tls.keystore_file, ca=tls.ca_file,
        )
        lines = text.splitlines(keepends=True)
        start = next(i for i, line in enumerate(lines) if line.startswith("listeners="))
        end = next(i for i, line in enumerate(lines) if line.startswith("inter.broker.listener.name="))
        return "".join(lines[:start]) + secured + "".join(lines[end + 1:])

    def format_storage(self, cluster_id: str) -> None:
        """Format the KRaft data directory (the config file must be written); the SCRAM users of the
        secured mode are created here (KRaft stores them in the metadata log)."""
        scram: list[str] = []
        if self.secure:
            for user, password in self.credentials().items():
                if user != CONTROLLER_USER:
                    scram += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"]
        procs.run(  # `--cluster-id=ID`: an id may begin with "-", which argparse would take for an option
            self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "--config", str(self.config),
                       *scram),
            "formatting the KRaft storage",
        )

    def start(self) -> bool:
        """Start the broker unless it runs; returns True when it was started now."""
        if not self.installed():
            raise StackError(f"Kafka {KAFKA_VERSION} jars are missing; run `gamemetrics stack install`")
        if self.running_pid() is not None:
            return False
        if procs.port_open("127.0.0.1", self.port):
            raise StackError(
                f"port {self.port} is taken by another process; stop it or set "
                "GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS to use that broker"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self.server_properties())
        if self.secure:
            self.config.chmod(0o600)  # it holds the admin's and the controller's passwords
        self.log4j.write_text(LOG4J_PROPERTIES.format(log=self.log))
        if not (self.data / "meta.properties").exists():
            self.format_storage(new_cluster_id())
        with open(self.stdout, "ab") as out:
            proc = subprocess.Popen(
                self._java("kafka.Kafka", str(self.config)),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        return True

    def wait_ready(self, bootstrap_servers: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        from confluent_kafka.admin import AdminClient

        own = bootstrap_servers == self.bootstrap_servers
        if own:  # wait for the port first: librdkafka logs every refused connection
            def listening() -> bool:
                if self.running_pid() is None:
                    raise StackError(f"the Kafka broker exited during start-up; see {self.stdout} and {self.log}")
                return procs.port_open("127.0.0.1", self.port)

            procs.wait_until(listening, timeout_s, f"Kafka port {self.port}", self.log)
        admin = AdminClient({"bootstrap.servers": bootstrap_servers, "socket.timeout.ms": 2000,
                             **(self.admin_security() if own else {})})

        def answers() -> bool:
            pid = self.running_pid() if own else 0
            if pid is None:
                raise StackError(f"the Kafka broker exited during start-up; see {self.stdout} and {self.log}")
            try:
                metadata = admin.list_topics(timeout=2)
            except Exception:
                return False
            return len(metadata.brokers) > 0

        procs.wait_until(answers, timeout_s, f"Kafka at {bootstrap_servers}", self.log)

    def stop(self, kill: bool = False) -> bool:
        pid = self.running_pid()
        if pid is None:
            return False
        procs.stop_pid(pid, timeout_s=0 if kill else 60)
        self.pid_file.unlink(missing_ok=True)
        return True
