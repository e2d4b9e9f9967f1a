"""Keep the search index in step with the database: every change marks the index backlog.

Saves and deletes of articles (and changes of their authors/tags) mark the article's index
entry as out of date in the same transaction (``search.backlog``); after the commit one
message wakes the index worker, which works the backlog off in few commits and decides from
the row itself whether to update or remove the document, so a hidden or deleted article
leaves the results.

Tags, sources and authors renamed by editors mark their articles (their names are facet
values). Policy mentions (saved or deleted) and policy documents (renamed or merged by editors) mark
the articles concerned, because the index holds the names of the documents each article
mentions. Story (repost group) changes made with ``queryset.update()`` and mentions inserted
with ``bulk_create`` send no model signal: ``articles.signals.articles_changed`` carries them,
and a bulk ingest (``articles.signals.changes_batched``) wakes the index worker once at its end
(its forks only record their changes: ``wake=False``).

Dictionary edits (``DictionaryTerm``/``Synonym``) bump the dictionary version and
mark the articles that contain the changed word.
"""

from __future__ import annotations

from django.db.models import signals
from haystack.signals import BaseSignalProcessor

from articles import signals as article_signals
from articles.models import Article, Author, PolicyDocument, PolicyMention, Source, Tag
from zhtext.models import DictionaryState, DictionaryTerm, Synonym

from .backlog import index_changes_mark, index_wakeups_defer, index_wakeups_resume
from .dictionary import dictionary_term_changed


def article_ids_enqueue(*, ids: list[int] | set[int], using: str = "default") -> None:
    """Mark ``ids`` for (re)indexing; the index worker is woken once the transaction commits."""
    index_changes_mark(ids=ids, using=using)


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


def _related_renamed(sender, instance, raw=False, created=False, using="default", **kwargs) -> None:
    # A tag, source or author renamed (or edited) in the admin: every article carrying it
    # holds its name in the index (facets, the search head).
    if raw or created:
        return
    ids = list(instance.articles.using(using).values_list("pk", flat=True))
    if ids:
        article_ids_enqueue(ids=ids, using=using)


def _articles_changed(sender, ids, using="default", **kwargs) -> None:
    article_ids_enqueue(ids=ids, using=using)


def _bulk_started(sender, **kwargs) -> None:
    index_wakeups_defer()


def _bulk_finished(sender, wake: bool = True, **kwargs) -> None:
    index_wakeups_resume(wake=wake)


def _dictionary_term_changed(sender, instance, using="default", **kwargs) -> None:
    dictionary_term_changed(word=instance.word, using=using)


def _synonym_changed(sender, instance, using="default", **kwargs) -> None:
    # Synonyms are expanded at query time: no reindex, just the new version.
    DictionaryState.bump()


class QueuedSignalProcessor(BaseSignalProcessor):
    def setup(self) -> None:
        article_signals.articles_changed.connect(_articles_changed, dispatch_uid="search-articles-changed")
        article_signals.bulk_started.connect(_bulk_started, dispatch_uid="search-bulk-started")
        article_signals.bulk_finished.connect(_bulk_finished, dispatch_uid="search-bulk-finished")
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
        for model in (Tag, Source, Author):
            signals.post_save.connect(
                _related_renamed, sender=model, dispatch_uid=f"search-rename-{model._meta.model_name}"
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
        article_signals.articles_changed.disconnect(dispatch_uid="search-articles-changed")
        article_signals.bulk_started.disconnect(dispatch_uid="search-bulk-started")
        article_signals.bulk_finished.disconnect(dispatch_uid="search-bulk-finished")
        signals.post_save.disconnect(dispatch_uid="search-article-save", sender=Article)
        signals.post_delete.disconnect(dispatch_uid="search-article-delete", sender=Article)
        signals.m2m_changed.disconnect(dispatch_uid="search-m2m-authors", sender=Article.authors.through)
        signals.m2m_changed.disconnect(dispatch_uid="search-m2m-tags", sender=Article.tags.through)
        signals.post_save.disconnect(dispatch_uid="search-pm-save", sender=PolicyMention)
        signals.post_delete.disconnect(dispatch_uid="search-pm-del", sender=PolicyMention)
        signals.post_save.disconnect(dispatch_uid="search-pd-save", sender=PolicyDocument)
        for model in (Tag, Source, Author):
            signals.post_save.disconnect(dispatch_uid=f"search-rename-{model._meta.model_name}", sender=model)
        signals.post_save.disconnect(dispatch_uid="search-dict-save", sender=DictionaryTerm)
        signals.post_delete.disconnect(dispatch_uid="search-dict-del", sender=DictionaryTerm)
        signals.post_save.disconnect(dispatch_uid="search-syn-save", sender=Synonym)
        signals.post_delete.disconnect(dispatch_uid="search-syn-del", sender=Synonym)
