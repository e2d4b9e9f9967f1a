"""What an editor's dictionary change means for the index: the articles whose words change."""

from __future__ import annotations

from django.db.models import Q

from articles.models import Article
from zhtext.models import DictionaryState

from .backlog import index_changes_mark


def article_ids_containing(*, word: str) -> list[int]:
    """Published articles whose title or text contains ``word`` (for a dictionary change)."""
    word = word.strip()
    if not word:
        return []
    return list(
        Article.objects.filter(status=Article.Status.PUBLISHED)
        .filter(Q(title__contains=word) | Q(body_text__contains=word) | Q(summary__contains=word))
        .values_list("pk", flat=True)
    )


def dictionary_term_changed(*, word: str, using: str = "default") -> int:
    """Bump the dictionary version and queue the articles containing ``word``; returns how many."""
    DictionaryState.bump()
    ids = article_ids_containing(word=word)
    index_changes_mark(ids=ids, using=using)
    return len(ids)
