"""haystack's Elasticsearch 7 backend with the project's index, a thin subclass of haystack's own.

What differs from haystack's ``Elasticsearch7SearchBackend`` (and only that), so
``rebuild_index``, ``update_index`` and ``clear_index`` work unchanged:

* ``setup`` creates the index with ``mapping``'s settings and mapping (jieba's words,
  whitespace-joined; facets as keywords) instead of haystack's ngram/snowball analysis, and
  notices an index made with another mapping (``mapping_outdated``: rebuild it).
* ``_prepare_object`` turns haystack's prepared data into that document (``document_build``).
* ``documents_apply`` writes updates and deletions in one bulk request and refreshes, so
  the next search sees them; a cluster that refuses writes raises ``IndexBusy``.
* ``indexed_documents`` and ``document_count`` for ``search_check``.

haystack's own ``search`` (``SearchQuerySet``) still sends a ``query_string`` the server does
not segment: the site searches through ``engine.ElasticsearchSearchEngine`` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import elasticsearch
from elasticsearch import helpers
from haystack import connections
from haystack.backends.elasticsearch7_backend import Elasticsearch7SearchBackend, Elasticsearch7SearchEngine
from haystack.constants import ID
from haystack.exceptions import SkipDocument
from haystack.utils import get_identifier

from search.engines.contract import IndexBusy
from zhtext.analysis import dictionary_refresh

from .answers import answer_whole, answers_whole
from .lexicon import WORDS_INDEX_MAPPINGS, Lexicon, words_index_name
from .mapping import (
    SHARDS,
    WORD_FIELDS,
    document_build,
    index_mappings,
    index_settings,
    mapping_build,
    words_field,
)

# Statuses of a write the cluster refused for now: 429 too many requests (also a flood-stage
# read-only block), 403 a write block, 503 no master / shard not available.
BUSY_STATUSES = {403, 429, 503}


class ChineseElasticsearchSearchBackend(Elasticsearch7SearchBackend):
    def __init__(self, connection_alias, **connection_options):
        super().__init__(connection_alias, **connection_options)
        self.replicas = int(connection_options.get("REPLICAS", 0))
        self.shards = int(connection_options.get("SHARDS", SHARDS))
        self.properties: dict[str, Any] = {}
        self.mapping_outdated = False
        self.words_index_name = words_index_name(self.index_name)
        self.lexicon = Lexicon(msearch=self._words_msearch, main_search=self.search_main)
        self._shards_seen: int | None = None

    # --- index -----------------------------------------------------------------------

    def build_schema(self, fields):
        return mapping_build(fields=fields)

    def setup(self):
        """Create the index with our mapping when it is missing; note when it differs."""
        unified_index = connections[self.connection_alias].get_unified_index()
        self.content_field_name, self.properties = self.build_schema(unified_index.all_searchfields())
        mappings = index_mappings(properties=self.properties)
        for name, index_mapping, shards in (
            (self.index_name, mappings, self.shards),
            (self.words_index_name, WORDS_INDEX_MAPPINGS, 1),  # a few MB
        ):
            if not self.conn.indices.exists(index=name):
                # 400 resource_already_exists: another process created it meanwhile
                self.conn.indices.create(
                    index=name,
                    settings=index_settings(shards=shards, replicas=self.replicas),
                    mappings=index_mapping,
                    ignore=400,
                )
                self.lexicon.forget_written()
        existing = self.conn.indices.get_mapping(index=self.index_name)
        current = next(iter(existing.values()), {}).get("mappings", {}).get("properties", {})
        self.mapping_outdated = any(current.get(name) != spec for name, spec in self.properties.items())
        self.existing_mapping = mappings
        self._shards_seen = None
        self.setup_complete = True

    def clear(self, models=None, commit=True):
        self.lexicon.clear()
        if models is None:
            self.conn.indices.delete(index=self.words_index_name, ignore=404)
        super().clear(models=models, commit=commit)

    def delete_index(self):
        self.lexicon.clear()
        self.conn.indices.delete(index=f"{self.index_name},{self.words_index_name}", ignore=404)
        self.setup_complete = False

    # --- writing ---------------------------------------------------------------------

    def _prepare_object(self, index, obj):
        if not self.setup_complete:
            self.setup()
        return document_build(prepared=index.full_prepare(obj), properties=self.properties)

    def update(self, index, iterable, commit=True):
        """haystack's update_index/rebuild_index batches, written like the index worker's."""
        self.documents_apply(index=index, objects=list(iterable), remove_ids=())

    def documents_apply(self, *, index, objects: Sequence, remove_ids: Iterable[str]) -> None:
        """Update ``objects`` and delete the ``remove_ids`` identifiers in one bulk request,
        then refresh. Raises ``IndexBusy`` when the cluster refuses the writes (a retry
        writes the same documents again, so a partly applied batch is harmless)."""
        try:
            # A bulk write to a missing index would create it with a guessed mapping (after
            # a clear_index elsewhere, say): make it with ours first.
            if not self.setup_complete or not self.conn.indices.exists(
                index=f"{self.index_name},{self.words_index_name}"
            ):
                self.setup()
            actions: list[dict] = []
            words: set[tuple[str, str]] = set()
            if objects:
                dictionary_refresh(check_now=True)
            for obj in objects:
                try:
                    doc = self._prepare_object(index, obj)
                except SkipDocument:
                    continue
                actions += [{"index": {"_index": self.index_name, "_id": doc[ID]}}, doc]
                words.update((f, w) for f in WORD_FIELDS for w in doc.get(words_field(f), ()))
            # the words the batch brings, for sub-word expansion (``lexicon``)
            actions += self.lexicon.word_actions(index_name=self.words_index_name, words=sorted(words))
            for ident in remove_ids:
                actions.append({"delete": {"_index": self.index_name, "_id": get_identifier(ident)}})
            if not actions:
                return
            answer = self.conn.bulk(body=actions, refresh=True)
        except elasticsearch.ConnectionError as exc:
            self.lexicon.forget_written()
            raise IndexBusy(f"Elasticsearch 无法连接（{self.conn_url()}）：{exc.__class__.__name__}") from exc
        except elasticsearch.TransportError as exc:
            self.lexicon.forget_written()
            if exc.status_code in BUSY_STATUSES:
                raise IndexBusy(f"Elasticsearch 拒绝写入（{exc.status_code}）：{exc.error}") from exc
            raise
        if answer.get("errors"):
            try:
                _bulk_errors_raise(answer)
            except Exception:
                self.lexicon.forget_written()
                raise
        self.lexicon.answers_forget()

    def conn_url(self) -> str:
        hosts = getattr(self.conn.transport, "hosts", None) or [{}]
        host = hosts[0]
        return f"{host.get('host', '?')}:{host.get('port', '?')}"

    # --- reading ---------------------------------------------------------------------

    def search_main(self, body: dict) -> dict:
        """One search of the main index, answered by every shard (``answers``)."""
        if not self.setup_complete:
            self.setup()
        # with several shards, BM25's statistics from all of them: the same ranking as one
        options = {"search_type": "dfs_query_then_fetch"} if self.shards_searched() > 1 else {}
        return answer_whole(lambda: self.conn.search(index=self.index_name, **options, **body))

    def searches_main(self, bodies: list[dict]) -> list[dict]:
        """Several searches of the main index in one request, answered side by side; each
        answer is whole (``answers``). Ranked searches (``size`` > 0) gather BM25's
        statistics from every shard first; counting ones (size 0) need none, and only a
        plain ``query_then_fetch`` is kept by the shard request cache."""
        if not self.setup_complete:
            self.setup()
        dfs = self.shards_searched() > 1
        lines: list[dict] = []
        for body in bodies:
            header: dict = {"index": self.index_name}
            if dfs and body.get("size", 10) > 0:
                header["search_type"] = "dfs_query_then_fetch"
            lines += [header, body]
        return answers_whole(lambda: self.conn.msearch(body=lines)["responses"])

    def shards_searched(self) -> int:
        """The index's own shard count (an index made before a settings change keeps its own)."""
        if self._shards_seen is None:
            found = self.conn.indices.get_settings(index=self.index_name, name="index.number_of_shards")
            self._shards_seen = int(next(iter(found.values()))["settings"]["index"]["number_of_shards"])
        return self._shards_seen

    def _words_msearch(self, bodies: list[dict]) -> list[dict]:
        if not self.setup_complete:
            self.setup()
        lines: list[dict] = []
        for body in bodies:
            lines += [{"index": self.words_index_name}, body]
        return self.conn.msearch(body=lines)["responses"]

    def indexed_documents(self) -> dict[int, str]:
        """``django_id`` → stored ``updated`` value for every document (for search_check)."""
        if not self.setup_complete:
            self.setup()
        out: dict[int, str] = {}
        hits = helpers.scan(
            self.conn,
            index=self.index_name,
            query={"query": {"match_all": {}}, "_source": ["django_id", "updated"]},
            size=5000,
        )
        for hit in hits:
            source = hit.get("_source", {})
            if source.get("django_id") is not None:
                out[int(source["django_id"])] = source.get("updated", "")
        return out

    def document_count(self) -> int:
        if not self.setup_complete:
            self.setup()
        return int(self.conn.count(index=self.index_name)["count"])


def _bulk_errors_raise(answer: dict) -> None:
    """Raise for the first failed item of a bulk answer (a missing document's delete is fine)."""
    for item in answer.get("items", ()):
        (op, result), *_ = item.items()
        status = int(result.get("status", 500))
        # a missing document's delete is fine, and so is a word the word index has already
        if 200 <= status < 300 or (op == "delete" and status == 404) or (op == "create" and status == 409):
            continue
        error = result.get("error", {})
        if status in BUSY_STATUSES:
            raise IndexBusy(
                f"Elasticsearch 拒绝写入（{status}）：{error.get('type', '')} {error.get('reason', '')}"
            )
        raise elasticsearch.TransportError(status, error.get("type", "bulk_error"), error)


class ChineseElasticsearchEngine(Elasticsearch7SearchEngine):
    backend = ChineseElasticsearchSearchBackend
