"""The Elasticsearch index: its settings, its mapping and the documents written to it.

Elasticsearch does no Chinese analysis here. Word fields (``text``, ``title``) hold the
tokens ``zhtext.analysis.text_terms`` makes (exactly what the Whoosh engine indexes) joined by
single spaces, mapped with the built-in ``whitespace`` analyzer, so each token keeps its
position and a phrase is a ``match_phrase`` over consecutive tokens. Queries are built from
the plan's already analysed words and are never re-analysed by the server. Each word field
has a keyword twin (``text_words``, ``title_words``: the document's distinct words, doc
values only) that ranks sub-word expansions by frequency when there are many (``lexicon``).
"""

from __future__ import annotations

import datetime
from typing import Any

from haystack.constants import DJANGO_CT, DJANGO_ID, ID

from search.facets import FACETS
from search.limits import MAX_PAGE, MAX_PAGE_SIZE
from zhtext.analysis import AnalysedText, text_terms

WORD_FIELDS = ("text", "title")
STORY_FIELD = "story"
FACET_FIELDS = {facet.field for facet in FACETS}
# Plain lists of names (not facets): kept as keywords, never scored.
LIST_FIELDS = {"authors", "tags"}
# The field holding a word field's distinct words, for expansion.
WORDS_SUFFIX = "_words"
# Shards when the connection names none (settings: ELASTICSEARCH_SHARDS). A search runs on
# every shard at once, one thread each, so two shards answer in about half the time on two
# cores. BM25 statistics are gathered from all shards first (``dfs_query_then_fetch``), so
# ranking does not depend on the count; ``SHARD_SIZE`` keeps facet counts exact.
SHARDS = 1
# Values each shard reports to a ``terms`` aggregation: far above any facet's list
# (``FACET_LIMIT``), so a value's count is summed from every shard that has it.
SHARD_SIZE = 1000
# Deepest ranking a page can ask for (``search.limits``): page × page size.
MAX_RESULT_WINDOW = MAX_PAGE * MAX_PAGE_SIZE

_WORD_MAPPING = {"type": "text", "analyzer": "whitespace", "similarity": "BM25"}
_KEYWORD = {"type": "keyword"}
# Facets: ordinals built at refresh, not by the first search after it.
_FACET_KEYWORD = {"type": "keyword", "eager_global_ordinals": True}
# Read by aggregations only (doc values), not searchable on their own.
_WORDS_MAPPING = {"type": "keyword", "index": False}


def words_field(fieldname: str) -> str:
    return f"{fieldname}{WORDS_SUFFIX}"


def index_settings(*, shards: int = SHARDS, replicas: int) -> dict[str, Any]:
    return {
        "index": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "max_result_window": MAX_RESULT_WINDOW,
        }
    }


def mapping_build(*, fields) -> tuple[str, dict[str, Any]]:
    """(content field name, the ``properties`` of the mapping) for haystack's search fields."""
    properties: dict[str, Any] = {
        ID: dict(_KEYWORD),
        DJANGO_CT: dict(_KEYWORD),
        # numeric, so ties in a ranking are broken by article id in numeric order
        DJANGO_ID: {"type": "long"},
    }
    content_field_name = ""
    for _, field_class in fields.items():
        name = field_class.index_fieldname
        if field_class.document:
            content_field_name = name
        if name in WORD_FIELDS or field_class.document:
            properties[name] = dict(_WORD_MAPPING)
            properties[words_field(name)] = dict(_WORDS_MAPPING)
        elif name == STORY_FIELD:
            properties[name] = {"type": "long"}
        elif field_class.field_type in ("date", "datetime"):
            properties[name] = {"type": "date"}
        elif not field_class.indexed:
            # kept (``updated`` for search_check), not searchable
            properties[name] = {"type": "keyword", "index": False}
        elif name in FACET_FIELDS:
            properties[name] = dict(_FACET_KEYWORD)
        else:
            # the source's and people's names: un-analysed values
            properties[name] = dict(_KEYWORD)
    return content_field_name, properties


def index_mappings(*, properties: dict[str, Any]) -> dict[str, Any]:
    # The big analysed fields are not kept in _source: results are read back from the database.
    excluded = [
        name for name, spec in properties.items() if spec.get("analyzer") or name.endswith(WORDS_SUFFIX)
    ]
    return {"dynamic": "strict", "_source": {"excludes": sorted(excluded)}, "properties": properties}


def document_build(*, prepared: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The Elasticsearch document of one article from haystack's ``full_prepare`` output."""
    out: dict[str, Any] = {}
    for key, value in prepared.items():
        if key == "boost" or value is None or key not in properties:
            continue
        if properties[key].get("analyzer") == "whitespace":
            if isinstance(value, AnalysedText):
                terms = list(value.terms)  # segmented at ingest
            else:
                terms = text_terms(value) if isinstance(value, str) else []
            out[key] = " ".join(terms)
            out[words_field(key)] = sorted(set(terms))
        elif isinstance(value, (list, tuple, set)):
            out[key] = [str(v) for v in value if v not in (None, "")]
        elif isinstance(value, datetime.datetime):
            out[key] = value.replace(tzinfo=None).isoformat()
        elif isinstance(value, datetime.date):
            out[key] = value.isoformat()
        elif value == "" and key in FACET_FIELDS:
            continue
        else:
            out[key] = value
    return out
