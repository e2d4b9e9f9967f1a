"""The index configurations being compared, each on its own temporary connection.

``whoosh`` is the project's embedded engine (``search.engines.whoosh.backend.ChineseWhooshEngine``)
and ``elasticsearch`` its distributed one (``search.engines.elasticsearch.backend``, a temporary
index on ``settings.ELASTICSEARCH_URL``), both with the project's ``ArticleIndex``.
``tutorial`` is the configuration most django-haystack + jieba write-ups arrive at:
haystack's stock ``WhooshSearchBackend`` with ``jieba.analyse.ChineseAnalyzer`` swapped in
for ``StemmingAnalyzer`` in ``build_schema``, ``source``/``author`` as ordinary tokenised
``CharField(faceted=True)`` (haystack adds the ``*_exact`` facet fields), queried through ``SearchQuerySet``.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from haystack import connections, indexes
from haystack.backends.whoosh_backend import WhooshEngine, WhooshSearchBackend
from haystack.utils.loading import UnifiedIndex
from whoosh.fields import TEXT, Schema, SpellField

from articles.models import Article

from .corpus import BenchArticle, SyntheticDoc

WHOOSH = "whoosh"
ELASTICSEARCH = "elasticsearch"
TUTORIAL = "tutorial"
# The project's engines (searched through ``selectors``), in the order they are measured.
PROJECT_ENGINES = (WHOOSH, ELASTICSEARCH)
# haystack's update_index/rebuild_index default batch size.
BATCH_SIZE = 1000


class TutorialArticleIndex(indexes.SearchIndex, indexes.Indexable):
    # What the usual ``article_text.txt`` template renders: title and body.
    text = indexes.CharField(document=True)
    title = indexes.CharField(model_attr="title")
    source = indexes.CharField(faceted=True)
    author = indexes.CharField(faceted=True, null=True)
    pub_date = indexes.DateTimeField(model_attr="published_on")

    def get_model(self) -> type[Article]:
        return Article

    def prepare_text(self, obj) -> str:
        return f"{obj.title}\n{obj.body_text}"

    def prepare_source(self, obj) -> str:
        return obj.source.name

    def prepare_author(self, obj) -> str | None:
        return "，".join(a.name for a in obj.authors.all()) or None


class TutorialUnifiedIndex(UnifiedIndex):
    def collect_indexes(self):
        return [TutorialArticleIndex()]


class TutorialWhooshBackend(WhooshSearchBackend):
    def build_schema(self, fields):
        from jieba.analyse import ChineseAnalyzer  # 1 s to import; only this benchmark needs it

        content_field_name, schema = super().build_schema(fields)
        swapped = {}
        for name, field in schema.items():
            if isinstance(field, SpellField):
                continue  # re-created by Schema for fields with spelling=True
            if isinstance(field, TEXT):
                replacement = TEXT(
                    stored=True,
                    analyzer=ChineseAnalyzer(),
                    field_boost=field.format.field_boost,
                    sortable=True,
                )
                replacement.spelling = field.spelling
                swapped[name] = replacement
            else:
                swapped[name] = field
        return content_field_name, Schema(**swapped)


class TutorialWhooshEngine(WhooshEngine):
    backend = TutorialWhooshBackend
    unified_index = TutorialUnifiedIndex


ENGINES = {
    WHOOSH: settings.SEARCH_ENGINE_CONNECTIONS["whoosh"]["ENGINE"],
    ELASTICSEARCH: settings.SEARCH_ENGINE_CONNECTIONS["elasticsearch"]["ENGINE"],
    TUTORIAL: "search.bench.configs.TutorialWhooshEngine",
}


@contextlib.contextmanager
def bench_connection(*, name: str, root: Path | None = None) -> Iterator[str]:
    """A haystack connection alias whose index is new: a temporary directory, or for
    Elasticsearch a temporary index next to the site's (deleted afterwards)."""
    path = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=root))
    alias = f"bench_{name}_{path.name[-8:].lower()}"
    if name == ELASTICSEARCH:
        settings.HAYSTACK_CONNECTIONS[alias] = {
            **settings.SEARCH_ENGINE_CONNECTIONS["elasticsearch"],
            "INDEX_NAME": f"{settings.ELASTICSEARCH_INDEX}__{alias}",
        }
    else:
        settings.HAYSTACK_CONNECTIONS[alias] = {"ENGINE": ENGINES[name], "PATH": str(path / "index")}
    try:
        yield alias
    finally:
        backend = connections[alias].get_backend()
        with contextlib.suppress(Exception):
            if name == ELASTICSEARCH:
                backend.delete_index()
            else:
                backend.searcher_close()  # ours keeps a searcher open
        connections.thread_local.connections.pop(alias, None)
        settings.HAYSTACK_CONNECTIONS.pop(alias, None)
        shutil.rmtree(path, ignore_errors=True)


def connection_index_path(*, alias: str) -> Path:
    return Path(settings.HAYSTACK_CONNECTIONS[alias]["PATH"])


def connection_search_index(*, alias: str):
    return connections[alias].get_unified_index().get_index(Article)


def documents_index(*, alias: str, docs: Iterable[SyntheticDoc], progress=None) -> int:
    """Index ``docs`` in batches through the backend's own ``update`` (as update_index does)."""
    backend = connections[alias].get_backend()
    index = connection_search_index(alias=alias)
    total = 0
    iterator = iter(docs)
    while batch := [BenchArticle(doc) for doc in itertools.islice(iterator, BATCH_SIZE)]:
        backend.update(index, batch)
        total += len(batch)
        if progress is not None:
            progress.update(len(batch))
    return total


def index_size_bytes(*, alias: str) -> int:
    if "INDEX_NAME" in settings.HAYSTACK_CONNECTIONS[alias]:
        backend = connections[alias].get_backend()
        names = f"{backend.index_name},{backend.words_index_name}"
        backend.conn.indices.flush(index=names)
        stats = backend.conn.indices.stats(index=names, metric="store")
        return int(stats["_all"]["primaries"]["store"]["size_in_bytes"])
    path = connection_index_path(alias=alias)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def elasticsearch_node_memory(*, alias: str) -> tuple[int, int]:
    """(resident bytes of the local Elasticsearch process, JVM heap in use): the server's
    share of the memory, beside the benchmark process's own."""
    conn = connections[alias].get_backend().conn
    stats = next(iter(conn.nodes.stats(node_id="_local", metric="jvm")["nodes"].values()))
    heap = int(stats["jvm"]["mem"]["heap_used_in_bytes"])
    info = next(iter(conn.nodes.info(node_id="_local", metric="process")["nodes"].values()))
    resident = 0
    with contextlib.suppress(OSError, KeyError, ValueError):
        status = Path(f"/proc/{int(info['process']['id'])}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        resident = int(line.split()[1]) * 1024
    return resident, heap
