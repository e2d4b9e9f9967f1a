"""Elasticsearch nodes for scripts/es_cluster_check.py: the installation, free ports, starting,
watching and killing nodes of a throwaway cluster."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ES_VERSION = os.environ.get("ES_VERSION", "7.17.29")
ES_USER = os.environ.get("ES_USER", "portal-es")
ES_HOME = Path(os.environ.get("ES_HOME", f"/opt/portal-elasticsearch/{ES_VERSION}"))


class Unavailable(Exception):
    """The check cannot run on this machine (no installation, no Java, no user to run as)."""


class CheckFailed(Exception):
    """The cluster did not do what it should (did not form, not green in time, …)."""


# --- the installation ------------------------------------------------------------------------
@dataclass(frozen=True)
class Install:
    home: Path
    java_home: Path
    run_as: str | None  # a user to switch to (when we are root), or None to run as ourselves
    allow_mmap: bool


def install_find(home: Path = ES_HOME) -> Install:
    """The installation scripts/elasticsearch.sh made, or Unavailable saying what is missing."""
    if not (home / "bin" / "elasticsearch").is_file():
        raise Unavailable(f"no Elasticsearch installation at {home} (scripts/elasticsearch.sh makes it)")
    if os.environ.get("ES_JAVA_HOME"):
        java_home = Path(os.environ["ES_JAVA_HOME"])
    else:
        java = shutil.which("java")
        if not java:
            raise Unavailable("no java on PATH (Elasticsearch's integ-test zip has no bundled JDK)")
        java_home = Path(java).resolve().parent.parent
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(ES_USER)
        except KeyError:
            raise Unavailable(f"no user {ES_USER} to run Elasticsearch as (it refuses root)") from None
        run_as = ES_USER
    # The same choice scripts/elasticsearch.sh made for its node (it knows whether the kernel let
    # it raise vm.max_map_count); without its config, decide the same way.
    allow_mmap = True
    config = home / "config" / "elasticsearch.yml"
    text = config.read_text(encoding="utf-8") if config.is_file() else ""
    if "node.store.allow_mmap: false" in text:
        allow_mmap = False
    elif "node.store.allow_mmap" not in text:
        with suppress(OSError, ValueError):
            allow_mmap = int(Path("/proc/sys/vm/max_map_count").read_text()) >= 262144
    return Install(home=home, java_home=java_home, run_as=run_as, allow_mmap=allow_mmap)


def free_ports(count: int) -> list[int]:
    """Loopback ports nothing listens on (held together while chosen, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def http_json(url: str, *, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


# --- nodes -----------------------------------------------------------------------------------
@dataclass
class Node:
    name: str
    http_port: int
    transport_port: int
    folder: Path
    process: subprocess.Popen | None = None
    java_pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def config_dir(self) -> Path:
        return self.folder / "config"

    @property
    def pidfile(self) -> Path:
        return self.folder / "run" / "elasticsearch.pid"

    def configure(self, install: Install, cluster: str, peers: list[Node], heap: str) -> None:
        """A private copy of the install's config dir with this node's settings and heap."""
        for sub in ("data", "logs", "run", "tmp"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        shutil.copytree(install.home / "config", self.config_dir)
        seeds = ", ".join(f'"127.0.0.1:{peer.transport_port}"' for peer in peers)
        masters = ", ".join(f'"{peer.name}"' for peer in peers)
        # As scripts/elasticsearch.sh configures its node (loopback, security off, disk
        # thresholds off, its mmap choice), except that these two form a cluster together.
        (self.config_dir / "elasticsearch.yml").write_text(
            f"cluster.name: {cluster}\n"
            f"node.name: {self.name}\n"
            f"path.data: {self.folder / 'data'}\n"
            f"path.logs: {self.folder / 'logs'}\n"
            "network.host: 127.0.0.1\n"
            f"http.port: {self.http_port}\n"
            f"transport.port: {self.transport_port}\n"
            f"discovery.seed_hosts: [{seeds}]\n"
            f"cluster.initial_master_nodes: [{masters}]\n"
            "xpack.security.enabled: false\n"
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
            f"node.store.allow_mmap: {'true' if install.allow_mmap else 'false'}\n",
            encoding="utf-8",
        )
        logs = self.folder / "logs"
        options = self.config_dir / "jvm.options.d"
        options.mkdir(exist_ok=True)
        for old in options.glob("*.options"):
            old.unlink()
        (options / "portal.options").write_text(
            f"-Xms{heap}\n-Xmx{heap}\n"
            f"-XX:HeapDumpPath={self.folder / 'tmp'}\n"
            f"-XX:ErrorFile={logs}/hs_err_pid%p.log\n"
            "-Xlog:disable\n"
            "-Xlog:all=warning:stderr:utctime,level,tags\n"
            f"-Xlog:gc*:file={logs}/gc.log:utctime,pid,tags:filecount=2,filesize=8m\n",
            encoding="utf-8",
        )

    def start(self, install: Install) -> None:
        """Start the JVM in the foreground of its own process group; -p writes its pid."""
        self.pidfile.unlink(missing_ok=True)
        self.java_pid = None
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(install.java_home),
            "ES_PATH_CONF": str(self.config_dir),
            "ES_TMPDIR": str(self.folder / "tmp"),
        }
        shell = 'ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" -p "$1"'
        command = [str(install.home / "bin" / "elasticsearch"), str(self.pidfile)]
        if install.run_as:
            argv = ["runuser", "-u", install.run_as, "--", "env", *(f"{k}={v}" for k, v in env.items())]
        else:
            argv = ["env", *(f"{k}={v}" for k, v in env.items())]
        with open(self.folder / "logs" / "startup.out", "ab") as out:
            self.process = subprocess.Popen(
                [*argv, "sh", "-c", shell, *command],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def pid(self) -> int | None:
        if self.java_pid is None:
            with suppress(OSError, ValueError):
                self.java_pid = int(self.pidfile.read_text().strip())
        return self.java_pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the JVM (by its pid), then whatever is left of the group we started."""
        pid = self.pid()
        if pid is not None:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        self.java_pid = None

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for path in (
            self.folder / "logs" / "startup.out",
            *sorted((self.folder / "logs").glob("*-cluster-*.log")),
        ):
            with suppress(OSError):
                out.append(
                    f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
                )
        return "\n".join(out)


@dataclass
class Cluster:
    install: Install
    name: str
    nodes: list[Node]
    folder: Path

    def health(self, node: Node, params: str = "", timeout: float = 5.0) -> dict:
        return http_json(f"{node.url}/_cluster/health{params}", timeout=timeout)

    def wait(self, node: Node, *, nodes: int, status: str, seconds: float) -> float:
        """Wait until ``node`` sees ``nodes`` nodes and ``status``; the seconds it took."""
        start = time.monotonic()
        last: object = "no answer"
        while time.monotonic() - start < seconds:
            for member in self.nodes:
                if member.process is not None and not member.alive():
                    raise CheckFailed(f"{member.name} exited while starting:\n{member.log_tail()}")
            try:
                health = self.health(node, f"?wait_for_nodes={nodes}&wait_for_status={status}&timeout=1s")
                last = {k: health.get(k) for k in ("status", "number_of_nodes", "unassigned_shards")}
                if not health.get("timed_out") and health["number_of_nodes"] == nodes:
                    return time.monotonic() - start
            except (OSError, urllib.error.URLError, ValueError) as exc:
                last = exc
            time.sleep(0.2)
        raise CheckFailed(
            f"{node.name} did not see {nodes} nodes and {status} within {seconds:.0f}s (last: {last})\n"
            + "\n".join(member.log_tail() for member in self.nodes)
        )

    def master(self) -> str:
        state = http_json(f"{self.nodes[0].url}/_cluster/state/master_node,nodes")
        return state["nodes"][state["master_node"]]["name"]

    def voting(self) -> list[str]:
        state = http_json(
            f"{self.nodes[0].url}/_cluster/state/metadata,nodes?filter_path=metadata.cluster_coordination,nodes"
        )
        ids = state["metadata"]["cluster_coordination"]["last_committed_config"]
        return sorted(state["nodes"][node_id]["name"] for node_id in ids if node_id in state["nodes"])


@contextmanager
def cluster_running(install: Install, *, heap: str = "320m", start_seconds: float = 150) -> Iterator[Cluster]:
    """Two fresh nodes forming a green cluster; killed and removed on the way out, whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix="portal-es-cluster-"))
    name = f"portal-cluster-test-{uuid.uuid4().hex[:8]}"
    http_a, http_b, transport_a, transport_b = free_ports(4)
    nodes = [
        Node(f"{name}-1", http_a, transport_a, folder / "node-1"),
        Node(f"{name}-2", http_b, transport_b, folder / "node-2"),
    ]
    cluster = Cluster(install=install, name=name, nodes=nodes, folder=folder)
    try:
        for node in nodes:
            node.configure(install, name, nodes, heap)
        if install.run_as:
            user = pwd.getpwnam(install.run_as)
            for path in (folder, *folder.rglob("*")):
                os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        for node in nodes:
            node.start(install)
        cluster.wait(nodes[0], nodes=2, status="green", seconds=start_seconds)
        yield cluster
    finally:
        for node in nodes:
            node.kill()
        shutil.rmtree(folder, ignore_errors=True)
