"""Documents, queries and the query load of scripts/es_cluster_check.py."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from elasticsearch import Elasticsearch
from elasticsearch.exceptions import ConnectionError as EsConnectionError
from elasticsearch.exceptions import ConnectionTimeout as EsConnectionTimeout
from elasticsearch.exceptions import TransportError

# The index the check creates on its throwaway cluster.
INDEX = "failover_check"


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


def shards_lost(exc: TransportError) -> bool:
    """HTTP 500 with every shard failed: the node holding the copies a search had picked died
    between its query and fetch phases (a malformed query is a 400 of the same type)."""
    return (
        isinstance(exc.status_code, int)
        and exc.status_code >= 500
        and (exc.error == "search_phase_execution_exception")
    )


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
            if shards_lost(exc):
                # Every shard failed: the partial answer below, only complete (asked again
                # by ask(), as the engine's answer_whole does).
                return {"partial": error}, error, number > 0
            if exc.status_code not in RETRY_STATUSES:
                return None, error, number > 0
        except Exception as exc:  # an answer of the wrong shape: not answered
            return None, f"{exc.__class__.__name__}: {exc}"[:200], number > 0
    return None, error, True


def ask(es: Elasticsearch, query: Query, expected: object) -> Sample:
    """One query as the portal's engine should send it: the client's one retry on a connection
    error or a 502/503/504, and the engine's own one retry of a partial answer.

    A search that was between its query and fetch phases on a shard copy of the node that dies
    comes back 200 with that shard failed (``node_disconnected_exception`` in ``_shards``), or
    500 ``search_phase_execution_exception`` when that was every shard: Elasticsearch retries
    the query phase on another copy, not the fetch phase. Shown as it is, that answer would
    lack hits and undercount facets, so it is asked again once.
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
