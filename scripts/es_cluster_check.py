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
(HTTP 200 with a shard failed, or HTTP 500 ``search_phase_execution_exception`` when every
shard failed: the node died between a search's query and fetch phases, which Elasticsearch
does not retry on another copy) is asked again once, as the engine should; the
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
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from elasticsearch import helpers
from es_load import (
    INDEX,
    MAPPINGS,
    Load,
    Sample,
    client_make,
    documents,
    queries_make,
)
from es_nodes import (
    CheckFailed,
    Install,
    Node,
    Unavailable,
    cluster_running,
    http_json,
    install_find,
)


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
