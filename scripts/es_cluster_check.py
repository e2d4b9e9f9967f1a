"""Two-node Elasticsearch failover check: kill one node under query load, lose no answer.

Starts two extra nodes from the installation scripts/elasticsearch.sh made
(/opt/portal-elasticsearch/<ES_VERSION>), on free loopback ports, with their own cluster name,
their own data, log and config directories in a temporary folder, and a small heap. The node
that already runs on 9200 is not touched: the new nodes find only each other
(``discovery.seed_hosts`` names their two transport ports).

Then it creates an index with 2 shards and 1 replica (each node holds a whole copy), bulk
indexes ``--docs`` small Chinese documents, runs ``--threads`` query threads (term, phrase,
filtered match, terms aggregation, count) against both nodes, SIGKILLs one node, keeps querying,
checks the document count, restarts the killed node on its own data and waits for green, and
prints what the clients saw in each phase.

What "answered" means: the client got HTTP 200 with every shard successful, no time-out, and
the right numbers (the same totals and facet counts as on the healthy cluster). The client knows
both nodes and has sniffing and retry-on-time-out off; a request that meets a connection error
or a 502/503/504 is retried once on the other node, as ``Elasticsearch(hosts, max_retries=1)``
does (the retry is done here, with ``max_retries=0``, so it can be counted). A partial answer
(HTTP 200 with a shard failed: the node died between a search's query and fetch phases, which
Elasticsearch does not retry on another copy) is asked again once, as the engine should; the
client library would pass it on as a success. A query that still fails, times out (``--request-timeout``) or
answers wrongly counts against the check.

The victim is a node outside the cluster's voting configuration when there is one (with two
master-eligible nodes Elasticsearch keeps only one of them voting), so the survivor keeps its
master; ``--kill-master`` kills the elected master instead, to see what that costs.

    python scripts/es_cluster_check.py                  # defaults: 2,000 documents, 4 threads
    python scripts/es_cluster_check.py --docs 5000 --during 20 --json

Runs as root (the nodes then run as ES_USER, default portal-es, as Elasticsearch refuses
root) or as any user who can read the installation (the nodes then run as that user). Exit
status: 0 when the check passed, 1 when it failed, 2 when it cannot run here (no installation,
no Java, no user). Everything it started is killed and its folder removed, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from elasticsearch import Elasticsearch, helpers
from elasticsearch.exceptions import ConnectionError as EsConnectionError
from elasticsearch.exceptions import ConnectionTimeout as EsConnectionTimeout
from elasticsearch.exceptions import TransportError

ES_VERSION = os.environ.get("ES_VERSION", "7.17.29")
ES_USER = os.environ.get("ES_USER", "portal-es")
ES_HOME = Path(os.environ.get("ES_HOME", f"/opt/portal-elasticsearch/{ES_VERSION}"))
INDEX = "failover_check"


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


# --- documents -------------------------------------------------------------------------------
# Written for this check: eight topics, each with a phrase only its documents contain.
TOPICS = {
    "数据安全": "数据分类分级保护制度",
    "个人信息": "个人信息处理者义务",
    "网络安全": "关键信息基础设施运营者",
    "人工智能": "生成式人工智能服务提供者",
    "数据出境": "数据出境安全评估申报",
    "电子政务": "政务服务一网通办",
    "平台经济": "平台企业公平竞争审查",
    "新能源": "县域充电基础设施建设",
}
SOURCES = ["国务院办公厅", "国家网信办", "工业和信息化部", "公安部", "市场监管总局",
           "国家发展改革委", "教育部", "交通运输部", "国家数据局", "省政府办公厅"]  # fmt: skip
KINDS = ["通知", "意见", "办法", "实施方案", "答记者问", "解读"]
FILLERS = [
    "各地区各部门要结合实际认真贯彻落实。",
    "会议强调，要坚持问题导向，压实主体责任。",
    "文件明确了工作目标、重点任务和保障措施。",
    "有关负责人表示，将加强督促检查和跟踪评估。",
    "鼓励行业组织制定团体标准，开展试点示范。",
    "要建立健全协调机制，形成工作合力。",
    "对违反规定的行为依法予以处理，并向社会公开。",
    "专家认为，这一举措有利于稳定市场预期。",
    "本办法自发布之日起施行，由主管部门负责解释。",
    "下一步将总结推广典型经验做法。",
]


def documents(count: int, *, seed: int = 20261206, filler_sentences: tuple[int, int] = (3, 6)) -> list[dict]:
    rng = random.Random(seed)
    topics = list(TOPICS)
    docs = []
    for number in range(1, count + 1):
        topic = rng.choice(topics)
        source = rng.choice(SOURCES)
        sentences = rng.sample(FILLERS, rng.randint(*filler_sentences))
        sentences.insert(rng.randrange(len(sentences) + 1), f"文件围绕{TOPICS[topic]}提出了具体要求。")
        docs.append(
            {
                "number": number,
                "title": f"{source}关于{topic}工作的{rng.choice(KINDS)}（第{number}号）",
                "body": "".join(sentences),
                "topic": topic,
                "source": source,
                "year": rng.randint(2019, 2026),
            }
        )
    return docs


MAPPINGS = {
    "properties": {
        "number": {"type": "integer"},
        "title": {"type": "text"},
        "body": {"type": "text"},
        "topic": {"type": "keyword"},
        "source": {"type": "keyword"},
        "year": {"type": "integer"},
    }
}


# --- queries ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    kind: str
    run: Callable[[Elasticsearch], object]  # the call; returns what `check` compares


def queries_make(docs: list[dict]) -> list[Query]:
    by_topic = Counter(doc["topic"] for doc in docs)

    def complete(response: dict) -> dict:
        """The response, or {"partial": its _shards} when a shard did not answer."""
        shards = response["_shards"]
        if response.get("timed_out") or shards["successful"] != shards["total"] or shards.get("failed"):
            return {"partial": shards}
        return response

    def count(es: Elasticsearch) -> object:
        response = complete(es.count(index=INDEX))
        return response if "partial" in response else response["count"]

    def search(es: Elasticsearch, **body) -> dict:
        return complete(es.search(index=INDEX, track_total_hits=True, **body))

    out = [Query("count", count)]

    def total(response: dict) -> object:
        return response if "partial" in response else response["hits"]["total"]["value"]

    for topic in by_topic:
        out.append(Query("term", lambda es, t=topic: total(search(es, query={"term": {"topic": t}}, size=5))))
        out.append(
            Query(
                "phrase", lambda es, t=topic: total(search(es, query={"match_phrase": {"body": TOPICS[t]}}))
            )
        )
        out.append(
            Query(
                "match+filter",
                lambda es, t=topic: total(
                    search(
                        es,
                        query={
                            "bool": {
                                "must": {"match": {"title": {"query": t, "operator": "and"}}},
                                "filter": {"range": {"year": {"gte": 2022}}},
                            }
                        },
                        size=10,
                    )
                ),
            )
        )

    def facets(es: Elasticsearch) -> object:
        response = search(es, size=0, aggs={"topics": {"terms": {"field": "topic", "size": 20}}})
        if "partial" in response:
            return response
        return {
            bucket["key"]: bucket["doc_count"] for bucket in response["aggregations"]["topics"]["buckets"]
        }

    out.append(Query("aggregation", facets))
    return out


# --- load ------------------------------------------------------------------------------------
@dataclass
class Sample:
    started: float  # monotonic
    seconds: float
    kind: str
    outcome: str  # answered | wrong | failed
    retried: bool
    error: str = ""
    partial: bool = False  # the first answer lacked a shard (and was retried)


RETRY_STATUSES = (502, 503, 504)


def attempt(es: Elasticsearch, query: Query) -> tuple[object, str, bool]:
    """One call as ``Elasticsearch(hosts, max_retries=1)`` makes it: a connection error or a
    502/503/504 is retried once (the pool has marked that node dead, so on the other node).
    Returns (answer or None, the last error, whether it retried)."""
    error = ""
    for number in range(2):
        try:
            return query.run(es), error, number > 0
        except EsConnectionTimeout as exc:
            return None, f"time-out: {exc}"[:200], number > 0  # retry_on_timeout is off
        except EsConnectionError as exc:
            error = f"connection error: {exc}"[:200]
        except TransportError as exc:
            error = f"HTTP {exc.status_code}: {exc.error}"[:200]
            if exc.status_code not in RETRY_STATUSES:
                return None, error, number > 0
        except Exception as exc:  # an answer of the wrong shape: not answered
            return None, f"{exc.__class__.__name__}: {exc}"[:200], number > 0
    return None, error, True


def ask(es: Elasticsearch, query: Query, expected: object) -> Sample:
    """One query as the portal's engine should send it: the client's one retry on a connection
    error or a 502/503/504, and the engine's own one retry of a partial answer.

    A search that was between its query and fetch phases on a shard copy of the node that dies
    comes back 200 with that shard failed (``node_disconnected_exception`` in ``_shards``):
    Elasticsearch retries the query phase on another copy, not the fetch phase. Shown as it is,
    that answer would lack hits and undercount facets, so it is asked again once.
    """
    started = time.monotonic()
    retried = partial = False
    error = ""
    for number in range(2):
        got, error, again = attempt(es, query)
        retried = retried or again or number > 0
        if got is None:
            break
        if isinstance(got, dict) and "partial" in got:
            partial = True
            error = f"partial answer: {got['partial']}"[:300]
            continue
        outcome = "answered" if got == expected else "wrong"
        return Sample(started, time.monotonic() - started, query.kind, outcome, retried,
                      error if outcome == "answered" else f"got {got!r}", partial)  # fmt: skip
    return Sample(started, time.monotonic() - started, query.kind, "failed", retried, error, partial)


def client_make(urls: list[str], timeout: float) -> Elasticsearch:
    return Elasticsearch(
        urls,
        max_retries=0,  # attempt() retries once itself, so the retries can be counted
        retry_on_timeout=False,
        sniff_on_start=False,
        sniff_on_connection_fail=False,
        sniffer_timeout=None,
        timeout=timeout,
    )


class Load:
    """``threads`` threads querying both nodes continuously, each with its own client."""

    def __init__(self, urls: list[str], queries: list[Query], expected: list[object], *, threads: int,
                 timeout: float) -> None:  # fmt: skip
        self.urls, self.queries, self.expected = urls, queries, expected
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self.work, args=(n, timeout), daemon=True) for n in range(threads)
        ]

    def work(self, number: int, timeout: float) -> None:
        rng = random.Random(number)
        es = client_make(self.urls if number % 2 == 0 else self.urls[::-1], timeout)
        try:
            while not self.stop.is_set():
                pick = rng.randrange(len(self.queries))
                self.samples.append(ask(es, self.queries[pick], self.expected[pick]))
        finally:
            es.close()

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


# --- the check -------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    seconds: float
    answered: int = 0
    retried: int = 0
    partial: int = 0
    wrong: int = 0
    failed: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class Report:
    cluster: str
    documents: int
    threads: int
    heap: str
    killed: str
    killed_was_master: bool
    voting_before: list[str]
    start_seconds: float = 0.0
    index_seconds: float = 0.0
    docs_before_kill: int = 0
    docs_during_kill: int = 0
    docs_after_restart: int = 0
    kill_to_one_node_seconds: float | None = None
    kill_to_yellow_seconds: float | None = None
    statuses_seen_after_kill: list[str] = field(default_factory=list)
    restart_to_join_seconds: float | None = None
    restart_to_green_seconds: float | None = None
    phases: list[Phase] = field(default_factory=list)
    total_seconds: float = 0.0

    @property
    def unanswered(self) -> int:
        return sum(phase.failed + phase.wrong for phase in self.phases)

    def table(self) -> str:
        lines = [
            f"cluster {self.cluster}: 2 nodes, heap {self.heap} each, index {INDEX} (2 shards, 1 replica), "
            f"{self.documents} documents, {self.threads} query threads",
            f"  formed green in {self.start_seconds:.1f}s; "
            f"indexed and refreshed in {self.index_seconds:.1f}s",
            f"  voting configuration {self.voting_before}; killed {self.killed} "
            f"({'the elected master' if self.killed_was_master else 'not the master'}) with SIGKILL",
            f"  {'phase':<24}{'secs':>6}{'answered':>10}{'retried':>9}{'partial':>9}{'wrong':>7}{'failed':>8}"
            f"{'p50 ms':>9}{'p95 ms':>9}",
        ]
        for p in self.phases:
            p50 = f"{p.p50_ms:.1f}" if p.p50_ms is not None else "-"
            p95 = f"{p.p95_ms:.1f}" if p.p95_ms is not None else "-"
            lines.append(
                f"  {p.name:<24}{p.seconds:>6.1f}{p.answered:>10}{p.retried:>9}{p.partial:>9}{p.wrong:>7}"
                f"{p.failed:>8}"
                f"{p50:>9}{p95:>9}"
            )
            lines.extend(f"      {error}" for error in p.errors[:5])

        def secs(value: float | None) -> str:
            return "never" if value is None else f"{value:.1f}s"

        lines += [
            f"  documents: {self.docs_before_kill} before the kill, {self.docs_during_kill} with one node, "
            f"{self.docs_after_restart} after the restart (indexed {self.documents})",
            f"  after the kill: one node left in {secs(self.kill_to_one_node_seconds)}, yellow in "
            f"{secs(self.kill_to_yellow_seconds)} "
            f"(statuses seen: {', '.join(self.statuses_seen_after_kill)})",
            f"  after the restart: joined in {secs(self.restart_to_join_seconds)}, green in "
            f"{secs(self.restart_to_green_seconds)}",
            f"  total {self.total_seconds:.1f}s; unanswered queries: {self.unanswered}",
        ]
        return "\n".join(lines)


class HealthWatch:
    """Polls the survivor's cluster health every 0.2 s, remembering (time, status, nodes)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: list[tuple[float, str, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.work, daemon=True)

    def work(self) -> None:
        while not self.stop.is_set():
            try:
                health = http_json(f"{self.url}/_cluster/health?timeout=1s", timeout=3)
                self.seen.append((time.monotonic(), health["status"], health["number_of_nodes"]))
            except urllib.error.HTTPError as exc:  # e.g. 503 master_not_discovered
                self.seen.append((time.monotonic(), f"http-{exc.code}", 0))
            except (OSError, ValueError):
                self.seen.append((time.monotonic(), "no-answer", 0))
            self.stop.wait(0.2)

    def first(self, after: float, test: Callable[[str, int], bool]) -> float | None:
        for at, status, nodes in self.seen:
            if at >= after and test(status, nodes):
                return at - after
        return None

    def __enter__(self) -> HealthWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def phase_of(samples: list[Sample], name: str, start: float, end: float) -> Phase:
    mine = [s for s in samples if start <= s.started < end]
    ok = sorted(s.seconds * 1000 for s in mine if s.outcome == "answered")
    phase = Phase(name=name, seconds=end - start)
    phase.answered = sum(s.outcome == "answered" for s in mine)
    phase.retried = sum(s.retried for s in mine)
    phase.partial = sum(s.partial for s in mine)
    phase.wrong = sum(s.outcome == "wrong" for s in mine)
    phase.failed = sum(s.outcome == "failed" for s in mine)
    if ok:
        phase.p50_ms = statistics.median(ok)
        phase.p95_ms = ok[min(len(ok) - 1, round(0.95 * (len(ok) - 1)))]
    counted = Counter(
        f"{s.kind} {s.outcome}: {s.error}" for s in mine if s.outcome != "answered" or s.retried
    )
    phase.errors = [f"{n}× {text}" for text, n in counted.most_common()]
    return phase


def count_docs(node: Node) -> int:
    return http_json(f"{node.url}/{INDEX}/_count")["count"]


def run_check(
    install: Install,
    *,
    docs: int = 2000,
    threads: int = 4,
    heap: str = "320m",
    before: float = 5.0,
    during: float = 15.0,
    after: float = 5.0,
    green_within: float = 120.0,
    request_timeout: float = 10.0,
    kill_master: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> Report:
    began = time.monotonic()
    say(f"starting two nodes from {install.home} (heap {heap} each)")
    with cluster_running(install, heap=heap) as cluster:
        started = time.monotonic() - began
        first, second = cluster.nodes
        say(f"cluster {cluster.name} green in {started:.1f}s: {first.url}, {second.url}")

        t0 = time.monotonic()
        corpus = documents(docs)
        admin = client_make([first.url], timeout=60)
        admin.indices.create(
            index=INDEX,
            settings={"number_of_shards": 2, "number_of_replicas": 1},
            mappings=MAPPINGS,
        )
        helpers.bulk(
            admin, ({"_index": INDEX, "_id": d["number"], "_source": d} for d in corpus), chunk_size=500
        )
        admin.indices.refresh(index=INDEX)
        cluster.wait(first, nodes=2, status="green", seconds=60)
        indexed = time.monotonic() - t0
        queries = queries_make(corpus)
        by_topic = Counter(doc["topic"] for doc in corpus)
        # Expected answers: what the computer knows (count, terms, facets), else the healthy cluster's.
        expected: list[object] = []
        for query in queries:
            got = query.run(admin)
            if query.kind == "count" and got != docs:
                raise CheckFailed(f"indexed {docs} documents but the cluster counts {got}")
            if query.kind == "aggregation" and got != dict(by_topic):
                raise CheckFailed(f"topic counts {got} differ from the documents' {dict(by_topic)}")
            if not isinstance(got, int | dict) or got in (0, {}):
                raise CheckFailed(f"{query.kind} query found nothing on the healthy cluster: {got!r}")
            expected.append(got)
        admin.close()

        master = cluster.master()
        voting = cluster.voting()
        if kill_master:
            victim = next(node for node in cluster.nodes if node.name == master)
        else:
            outside = [node for node in cluster.nodes if node.name not in voting]
            victim = (outside or [node for node in cluster.nodes if node.name != master])[0]
        survivor = second if victim is first else first
        report = Report(
            cluster=cluster.name, documents=docs, threads=threads, heap=heap, killed=victim.name,
            killed_was_master=victim.name == master, voting_before=voting,
            start_seconds=started, index_seconds=indexed,
        )  # fmt: skip
        report.docs_before_kill = count_docs(survivor)

        urls = [node.url for node in cluster.nodes]
        with (
            Load(urls, queries, expected, threads=threads, timeout=request_timeout) as load,
            HealthWatch(survivor.url) as watch,
        ):
            load_start = time.monotonic()
            time.sleep(before)
            say(f"SIGKILL {victim.name} (pid {victim.pid()}) under load")
            killed_at = time.monotonic()
            victim.kill()
            time.sleep(during)
            report.docs_during_kill = count_docs(survivor)
            say(f"{report.docs_during_kill} documents on {survivor.name} alone; restarting {victim.name}")
            restarted_at = time.monotonic()
            victim.start(install)
            try:
                cluster.wait(survivor, nodes=2, status="green", seconds=green_within)
            except CheckFailed:
                green_at = None
            else:
                green_at = time.monotonic()
            time.sleep(after)
            end = time.monotonic()

        report.kill_to_one_node_seconds = watch.first(killed_at, lambda status, nodes: nodes == 1)
        report.kill_to_yellow_seconds = watch.first(
            killed_at, lambda status, nodes: nodes == 1 and status == "yellow"
        )
        report.statuses_seen_after_kill = list(
            dict.fromkeys(f"{status}/{nodes}" for at, status, nodes in watch.seen if at >= killed_at)
        )
        report.restart_to_join_seconds = watch.first(restarted_at, lambda status, nodes: nodes == 2)
        report.restart_to_green_seconds = None if green_at is None else green_at - restarted_at
        report.docs_after_restart = count_docs(survivor) if green_at is not None else -1
        samples = load.samples
        report.phases = [
            phase_of(samples, "before the kill", load_start, killed_at),
            phase_of(samples, "one node killed", killed_at, restarted_at),
            phase_of(samples, "restart until green", restarted_at, green_at or end),
        ]
        if green_at is not None:
            report.phases.append(phase_of(samples, "green again", green_at, end))
    report.total_seconds = time.monotonic() - began
    return report


def report_problems(report: Report, *, green_within: float) -> list[str]:
    problems = []
    if report.unanswered:
        problems.append(f"{report.unanswered} queries were not answered (or answered wrongly)")
    counts = (report.docs_before_kill, report.docs_during_kill, report.docs_after_restart)
    if any(count != report.documents for count in counts):
        problems.append(f"document counts {counts} differ from the {report.documents} indexed")
    if report.restart_to_green_seconds is None or report.restart_to_green_seconds > green_within:
        problems.append(f"not green again within {green_within:.0f}s of the restart")
    if not all(phase.answered for phase in report.phases):
        problems.append("a phase answered no query at all")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--heap", default="320m", help="each node's -Xms/-Xmx (default 320m)")
    parser.add_argument("--before", type=float, default=5.0, help="seconds of load before the kill")
    parser.add_argument("--during", type=float, default=15.0, help="seconds of load with one node")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of load once green again")
    parser.add_argument(
        "--green-within", type=float, default=120.0, help="seconds allowed from restart to green"
    )
    parser.add_argument("--request-timeout", type=float, default=10.0)
    parser.add_argument("--kill-master", action="store_true", help="kill the elected master instead")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    try:
        install = install_find()
        report = run_check(
            install, docs=args.docs, threads=args.threads, heap=args.heap, before=args.before,
            during=args.during, after=args.after, green_within=args.green_within,
            request_timeout=args.request_timeout, kill_master=args.kill_master,
            say=lambda line: print(f"[es-cluster] {line}", file=sys.stderr, flush=True),
        )  # fmt: skip
    except Unavailable as exc:
        print(f"[es-cluster] cannot run here: {exc}", file=sys.stderr)
        return 2
    except CheckFailed as exc:
        print(f"[es-cluster] FAILED: {exc}", file=sys.stderr)
        return 1
    print(report.table())
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    problems = report_problems(report, green_within=args.green_within)
    for problem in problems:
        print(f"[es-cluster] FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
