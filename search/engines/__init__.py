"""The search engine the project runs on, chosen by ``settings.SEARCH_BACKEND``.

Every engine implements ``contract.SearchEngine``; callers ask ``engine_get`` and never
look at which one they got.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .contract import SearchEngine

# settings.SEARCH_BACKEND → the engine class (None: named in settings, not implemented yet).
ENGINES: dict[str, str | None] = {
    "whoosh": "search.engines.whoosh.engine.WhooshSearchEngine",
    "elasticsearch": "search.engines.elasticsearch.engine.ElasticsearchSearchEngine",
}


def engine_get(*, using: str = "default") -> SearchEngine:
    """The engine over the haystack connection ``using`` (the benchmark uses its own)."""
    name = settings.SEARCH_BACKEND
    if name not in ENGINES:
        raise ImproperlyConfigured(
            f"SEARCH_BACKEND={name!r}: known engines are {', '.join(sorted(ENGINES))}."
        )
    path = ENGINES[name]
    if path is None:
        raise ImproperlyConfigured(
            f"SEARCH_BACKEND={name!r} has no engine in search.engines yet; use SEARCH_BACKEND=whoosh."
        )
    return import_string(path)(using=using)
