"""The search engine the project runs on, chosen by ``settings.SEARCH_BACKEND``.

Every engine implements ``contract.SearchEngine``; callers ask ``engine_get`` and never
look at which one they got.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from haystack import connections

from .contract import SearchEngine

# settings.SEARCH_BACKEND → the engine class (None: named in settings, not implemented yet).
ENGINES: dict[str, str | None] = {
    "whoosh": "search.engines.whoosh.engine.WhooshSearchEngine",
    "elasticsearch": "search.engines.elasticsearch.engine.ElasticsearchSearchEngine",
}


def engine_get(*, using: str = "default") -> SearchEngine:
    """The engine over the haystack connection ``using`` (the benchmark uses its own).

    The connection's haystack ENGINE says which of ours it is, so one process can hold a
    Whoosh and an Elasticsearch connection side by side (``bench_search --engine``).
    """
    name = settings.SEARCH_BACKEND
    if name not in ENGINES:
        raise ImproperlyConfigured(
            f"SEARCH_BACKEND={name!r}: known engines are {', '.join(sorted(ENGINES))}."
        )
    name = _connection_engine_name(using=using) or name
    path = ENGINES[name]
    if path is None:
        raise ImproperlyConfigured(
            f"SEARCH_BACKEND={name!r} has no engine in search.engines yet; use SEARCH_BACKEND=whoosh."
        )
    return import_string(path)(using=using)


def _connection_engine_name(*, using: str) -> str | None:
    haystack_engine = settings.HAYSTACK_CONNECTIONS.get(using, {}).get("ENGINE")
    for name, connection in settings.SEARCH_ENGINE_CONNECTIONS.items():
        if connection.get("ENGINE") == haystack_engine and name in ENGINES:
            return name
    return None


def connections_forget() -> None:
    """Drop this process's engine connections, to be made again on first use.

    For a forked child (a Celery pool process): the parent's Elasticsearch client keeps
    sockets open, and two processes on one keep-alive socket read each other's answers
    (a bulk write seen as failed and sent twice, a check answered 400).
    """
    connections.thread_local.connections = {}


def engine_select(*, name: str) -> None:
    """Make ``name`` this process's engine, for a command's ``--engine`` (``search_eval``).

    Call it before the first search: it swaps the ``default`` haystack connection for the
    engine's own (``settings.SEARCH_ENGINE_CONNECTIONS``) and drops the one already made.
    """
    if name not in ENGINES or name not in settings.SEARCH_ENGINE_CONNECTIONS:
        raise ImproperlyConfigured(f"未知的检索引擎 {name!r}：可选 {', '.join(sorted(ENGINES))}。")
    settings.SEARCH_BACKEND = name
    settings.HAYSTACK_CONNECTIONS["default"] = dict(settings.SEARCH_ENGINE_CONNECTIONS[name])
    connections.connections_info["default"] = settings.HAYSTACK_CONNECTIONS["default"]
    connections.reload("default")
