from __future__ import annotations

from haystack.backends.whoosh_backend import WhooshEngine


class ChineseWhooshEngine(WhooshEngine):
    """Placeholder: replaced by the jieba-aware backend."""
