"""Keep the search index in step with the database through the ``index`` queue.

Saves and deletes of articles (and changes of their authors/tags) only record the
primary key; when the transaction commits, the collected keys go to
``search.tasks.index_articles`` in one message (a bulk import is then a handful of
tasks, not one per row). Through Redis, a task also takes the ids of messages still queued
and skips ids already indexed since their change, so one-article transactions still give few
index commits (``search.index_queue``). The task decides from the row itself whether to update
or remove the document, so a hidden or deleted article leaves the results.

Policy mentions (created/deleted one by one at ingest) and policy documents (renamed or
merged by editors) queue the articles concerned, because the index holds the names of the
documents each article mentions. Story (repost group) changes made with
``queryset.update()`` send no signal: whoever does that calls ``article_ids_enqueue``.

Dictionary edits (``DictionaryTerm``/``Synonym``) bump the dictionary version and
queue the articles that contain the changed word.
"""

from __future__ import annotations

import threading

from django.db import transaction
from django.db.models import signals
from haystack.signals import BaseSignalProcessor

from articles.models import Article, PolicyDocument, PolicyMention

# Keys per task message; large enough to coalesce a bulk save, small enough for one commit.
ENQUEUE_CHUNK = 500

_pending = threading.local()


def article_ids_enqueue(*, ids: list[int] | set[int], using: str = "default") -> None:
    """Queue ``ids`` for (re)indexing once the current transaction commits."""
    if not hasattr(_pending, "ids"):
        _pending.ids = set()
    _pending.ids.update(int(i) for i in ids)
    transaction.on_commit(_pending_flush, using=using)


def _pending_flush() -> None:
    from .index_queue import broker_redis, pending_add
    from .tasks import index_articles

    ids = sorted(getattr(_pending, "ids", ()))
    _pending.ids = set()
    if not ids:
        return  # an earlier callback of the same transaction already sent them
    # Through a broker, each message also carries the Redis stamp of this flush (taken after
    # the DB commit) and its ids join the pending set, so one task can index many messages'
    # ids in one commit (see search.index_queue). Inline, every chunk is indexed right here.
    client = broker_redis()
    for i in range(0, len(ids), ENQUEUE_CHUNK):
        chunk = ids[i : i + ENQUEUE_CHUNK]
        if client is None:
            index_articles.delay(ids=chunk)
        else:
            index_articles.delay(ids=chunk, enqueued_at=pending_add(client=client, ids=chunk))


def _article_saved(sender, instance, raw=False, using="default", **kwargs) -> None:
    if raw:
        return
    article_ids_enqueue(ids=[instance.pk], using=using)


def _article_deleted(sender, instance, using="default", **kwargs) -> None:
    article_ids_enqueue(ids=[instance.pk], using=using)


def _article_m2m_changed(sender, instance, action, reverse, model, pk_set, using="default", **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear", "pre_clear"):
        return
    if not reverse:
        if action != "pre_clear":
            article_ids_enqueue(ids=[instance.pk], using=using)
        return
    # Changed from the author/tag side: every article linked to it.
    if action == "pre_clear":
        ids = list(instance.articles.values_list("pk", flat=True))
    elif pk_set:
        ids = list(pk_set)
    else:
        return
    if ids:
        article_ids_enqueue(ids=ids, using=using)


def _policy_mention_changed(sender, instance, raw=False, using="default", **kwargs) -> None:
    # The article's "policy" facet values changed.
    if not raw and instance.article_id:
        article_ids_enqueue(ids=[instance.article_id], using=using)


def _policy_document_saved(sender, instance, raw=False, using="default", **kwargs) -> None:
    # A rename or a merge (mentions moved with queryset.update, then the target saved):
    # every article mentioning the document carries its name in the index.
    if raw:
        return
    ids = list(
        PolicyMention.objects.using(using).filter(document=instance).values_list("article_id", flat=True)
    )
    if ids:
        article_ids_enqueue(ids=ids, using=using)


def _dictionary_term_changed(sender, instance, using="default", **kwargs) -> None:
    from .services import dictionary_term_changed

    dictionary_term_changed(word=instance.word, using=using)


def _synonym_changed(sender, instance, using="default", **kwargs) -> None:
    from .models import DictionaryState

    # Synonyms are expanded at query time: no reindex, just the new version.
    DictionaryState.bump()


class QueuedSignalProcessor(BaseSignalProcessor):
    def setup(self) -> None:
        from .models import DictionaryTerm, Synonym

        signals.post_save.connect(_article_saved, sender=Article, dispatch_uid="search-article-save")
        signals.post_delete.connect(_article_deleted, sender=Article, dispatch_uid="search-article-delete")
        for through, uid in ((Article.authors.through, "authors"), (Article.tags.through, "tags")):
            signals.m2m_changed.connect(
                _article_m2m_changed, sender=through, dispatch_uid=f"search-m2m-{uid}"
            )
        signals.post_save.connect(
            _policy_mention_changed, sender=PolicyMention, dispatch_uid="search-pm-save"
        )
        signals.post_delete.connect(
            _policy_mention_changed, sender=PolicyMention, dispatch_uid="search-pm-del"
        )
        signals.post_save.connect(
            _policy_document_saved, sender=PolicyDocument, dispatch_uid="search-pd-save"
        )
        signals.post_save.connect(
            _dictionary_term_changed, sender=DictionaryTerm, dispatch_uid="search-dict-save"
        )
        signals.post_delete.connect(
            _dictionary_term_changed, sender=DictionaryTerm, dispatch_uid="search-dict-del"
        )
        signals.post_save.connect(_synonym_changed, sender=Synonym, dispatch_uid="search-syn-save")
        signals.post_delete.connect(_synonym_changed, sender=Synonym, dispatch_uid="search-syn-del")

    def teardown(self) -> None:
        from .models import DictionaryTerm, Synonym

        signals.post_save.disconnect(dispatch_uid="search-article-save", sender=Article)
        signals.post_delete.disconnect(dispatch_uid="search-article-delete", sender=Article)
        signals.m2m_changed.disconnect(dispatch_uid="search-m2m-authors", sender=Article.authors.through)
        signals.m2m_changed.disconnect(dispatch_uid="search-m2m-tags", sender=Article.tags.through)
        signals.post_save.disconnect(dispatch_uid="search-pm-save", sender=PolicyMention)
        signals.post_delete.disconnect(dispatch_uid="search-pm-del", sender=PolicyMention)
        signals.post_save.disconnect(dispatch_uid="search-pd-save", sender=PolicyDocument)
        signals.post_save.disconnect(dispatch_uid="search-dict-save", sender=DictionaryTerm)
        signals.post_delete.disconnect(dispatch_uid="search-dict-del", sender=DictionaryTerm)
        signals.post_save.disconnect(dispatch_uid="search-syn-save", sender=Synonym)
        signals.post_delete.disconnect(dispatch_uid="search-syn-del", sender=Synonym)
