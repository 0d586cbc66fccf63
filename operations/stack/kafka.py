"""A single-node Apache Kafka broker in KRaft mode, run with ``java -cp`` from Maven Central jars.

Version choice: 3.9.1, the last 3.x release. Kafka 4.0 removed the protocol versions older than
2.1 (KIP-896); aiokafka, the client under faust-streaming, still negotiates some old request
versions and its 4.x support is an open question upstream, while confluent-kafka (librdkafka)
works with both lines. 3.9 runs KRaft without ZooKeeper, which is all we need.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from importlib import resources
from pathlib import Path

from operations.errors import StackError
from gamemetrics.settings import LOCAL_KAFKA_CONTROLLER_PORT, LOCAL_KAFKA_PORT
from operations.stack import procs

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
        self, root: Path, port: int = LOCAL_KAFKA_PORT, controller_port: int = LOCAL_KAFKA_CONTROLLER_PORT
    ) -> None:
        self.root = root
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

    def _java(self, *args: str) -> list[str]:
        return ["java", *JVM_HEAP, "-cp", f"{self.libs}/*", f"-Dlog4j.configuration=file:{self.log4j}", *args]

    def format_storage(self, cluster_id: str) -> None:
        """Format the KRaft data directory (the config file must be written)."""
        procs.run(  # `--cluster-id=ID`: an id may begin with "-", which argparse would take for an option
            self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "--config", str(self.config)),
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
        self.config.write_text(
            SERVER_PROPERTIES.format(port=self.port, controller_port=self.controller_port, data=self.data)
        )
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
        admin = AdminClient({"bootstrap.servers": bootstrap_servers, "socket.timeout.ms": 2000})

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
