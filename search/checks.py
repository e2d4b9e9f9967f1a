"""System checks for the search setup (run by ``manage.py check`` and at server start)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Warning, register

from zhtext.analysis import native_cut_available
from zhtext.fingerprint import native_shingles_available

from .engines import engine_get
from .engines.whoosh.writing import native_postings_available


@register("search")
def search_settings_check(app_configs, **kwargs):
    problems = []
    user_dict = Path(settings.JIEBA_USER_DICT)
    if not user_dict.is_file():
        problems.append(
            Warning(f"分词用户词典不存在：{user_dict}", hint="检查 JIEBA_USER_DICT 设置。", id="search.W001")
        )
    if not native_cut_available():
        problems.append(
            Warning(
                "分词加速模块未编译（zhtext/_cut.c）：导入和建索引改用较慢的纯 Python 分词，结果相同。",
                hint="运行 make native（需要 C 编译器，Debian 上是 gcc）。",
                id="search.W004",
            )
        )
    if not native_shingles_available():
        problems.append(
            Warning(
                "转载指纹加速模块未编译（zhtext/_shingles.c）：导入改用较慢的纯 Python 实现，结果相同。",
                hint="运行 make native（需要 C 编译器，Debian 上是 gcc）。",
                id="search.W006",
            )
        )
    if not native_postings_available():
        problems.append(
            Warning(
                "索引写入加速模块未编译（search/engines/whoosh/_postings.c）："
                "建索引改用较慢的纯 Python 实现，结果相同。",
                hint="运行 make native（需要 C 编译器，Debian 上是 gcc）。",
                id="search.W005",
            )
        )
    for label, path in (
        ("索引目录", getattr(settings, "SEARCH_INDEX_DIR", None)),
        ("jieba 缓存目录", settings.JIEBA_CACHE_DIR),
    ):
        if path is None:
            continue
        path = Path(path)
        parent = path if path.exists() else path.parent
        if parent.exists() and not os.access(parent, os.W_OK):
            problems.append(Error(f"{label}不可写：{path}", id="search.E001"))
    return problems


@register("search")
def elasticsearch_reachable_check(app_configs, using: str = "default", **kwargs):
    """With ``SEARCH_BACKEND=elasticsearch``: the node answers and the index is usable.

    Warnings, not errors: the site's other pages work without the engine, and the search
    page says the search is unavailable until the node is back.
    """
    if settings.SEARCH_BACKEND != "elasticsearch":
        return []
    health = engine_get(using=using).health()
    if health.exists and health.schema_current:
        return []
    if health.exists:
        return [Warning("Elasticsearch 索引的映射已过时。", hint=health.hint, id="search.W003")]
    # unreachable, or reachable without the index: the hint says which and what to do
    return [Warning(health.hint or "Elasticsearch 索引不可用。", id="search.W002")]
