"""Policy documents articles mention: keeping mentions in step with articles, merging, reading.

Mentions are derived data: `article_policy_mentions_sync` recomputes an article's mentions from
its title and body every time it is ingested or re-cleaned, so it may be run any number of
times. Documents themselves are curated by editors (name, kind, aliases, merges) and are never
deleted by a re-sync, so an editor's correction survives the next ingest.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet

from .models import Article, PolicyDocument, PolicyMention
from .policy_refs import KIND_NUMBER, PolicyRef, extract_policy_refs, normalise_doc_number, normalise_title
from .signals import articles_changed_send

POLICY_ARTICLES_PER_PAGE = 30
POLICY_DOCUMENTS_PER_PAGE = 50
UNDATED_LABEL = "日期不详"


# --- names --------------------------------------------------------------------------------------


def policy_name_normalise(*, value: str) -> str:
    """An editor's spelling as the key extraction would produce: 国办发[2024] 12号 -> 国办发〔2024〕12号."""
    value = value.strip().strip("《》")
    try:
        return normalise_doc_number(value)
    except ValueError:
        return normalise_title(value)


def policy_kind_guess(*, name: str) -> str:
    try:
        normalise_doc_number(name)
    except ValueError:
        return PolicyDocument.Kind.TITLE
    return PolicyDocument.Kind.NUMBER


# --- mentions -----------------------------------------------------------------------------------


def _documents_for_refs(*, refs: Sequence[PolicyRef]) -> dict[str, PolicyDocument]:
    """Map each ref's text to its document: by name first, then by alias; create what is new."""
    texts = [ref.text for ref in refs]
    found = {doc.name: doc for doc in PolicyDocument.objects.filter(name__in=texts)}
    missing = [text for text in texts if text not in found]
    if missing:
        # Few documents carry aliases (only those an editor touched), so reading them all is
        # cheaper and more portable than a JSON containment query per text.
        wanted = set(missing)
        for doc in PolicyDocument.objects.exclude(aliases=[]).order_by("id"):
            for alias in doc.aliases or []:
                if alias in wanted and alias not in found:
                    found[alias] = doc
    new: dict[str, str] = {}  # stored name → kind
    for ref in refs:
        if ref.text not in found:
            kind = PolicyDocument.Kind.NUMBER if ref.kind == KIND_NUMBER else PolicyDocument.Kind.TITLE
            new.setdefault(ref.text[:200], kind)
    if new:
        # One insert for all; a name another worker created meanwhile is kept as theirs.
        PolicyDocument.objects.bulk_create(
            [PolicyDocument(name=name, kind=kind) for name, kind in new.items()], ignore_conflicts=True
        )
        created = {doc.name: doc for doc in PolicyDocument.objects.filter(name__in=list(new))}
        for ref in refs:
            if ref.text not in found:
                found[ref.text] = created[ref.text[:200]]
    return found


def article_policy_mentions_sync(*, article: Article) -> list[PolicyMention]:
    """Replace the article's mentions with those found in its title and body, in reading order."""
    text = f"{article.title}\n{article.body_text}"
    refs = extract_policy_refs(text=text)
    documents = _documents_for_refs(refs=refs) if refs else {}

    wanted: dict[int, str] = {}
    for ref in refs:
        doc = documents[ref.text]
        # A title and an alias can point at one document; the first spelling read wins.
        wanted.setdefault(doc.id, ref.raw[:200])

    existing = {m.document_id: m for m in PolicyMention.objects.filter(article=article)}
    stale = [m.id for doc_id, m in existing.items() if doc_id not in wanted]
    if stale:
        PolicyMention.objects.filter(id__in=stale).delete()
    mentions: list[PolicyMention] = []
    added: list[PolicyMention] = []
    for doc_id, raw in wanted.items():
        mention = existing.get(doc_id)
        if mention is None:
            mention = PolicyMention(article=article, document_id=doc_id, raw=raw)
            added.append(mention)
        elif mention.raw != raw:
            mention.raw = raw
            mention.save(update_fields=["raw"])
        mentions.append(mention)
    if added:
        # one insert; bulk_create sends no post_save, so the index hears of it here
        PolicyMention.objects.bulk_create(added)
        articles_changed_send(ids=[article.pk])
    return mentions


def articles_policy_mentions_create(*, articles: Sequence[Article]) -> None:
    """The mentions of articles that have none yet (just created): ``article_policy_mentions_sync``
    for many at once, one lookup of the documents and one insert for all."""
    found = [
        (article, extract_policy_refs(text=f"{article.title}\n{article.body_text}")) for article in articles
    ]
    refs = [ref for _article, article_refs in found for ref in article_refs]
    if not refs:
        return
    documents = _documents_for_refs(refs=refs)
    added: list[PolicyMention] = []
    for article, article_refs in found:
        wanted: dict[int, str] = {}
        for ref in article_refs:
            wanted.setdefault(documents[ref.text].id, ref.raw[:200])
        added.extend(
            PolicyMention(article=article, document_id=doc_id, raw=raw) for doc_id, raw in wanted.items()
        )
    # (bulk_create sends no post_save: the caller tells the index about the articles)
    PolicyMention.objects.bulk_create(added)


# --- editing ------------------------------------------------------------------------------------


def _aliases_merged(*, name: str, lists: Iterable[Iterable[str]]) -> list[str]:
    merged: list[str] = []
    for values in lists:
        for value in values:
            value = value.strip()
            if value and value != name and value not in merged:
                merged.append(value)
    return merged


@transaction.atomic
def policy_documents_merge(*, target_id: int, other_ids: Iterable[int]) -> PolicyDocument:
    """Fold other documents into the target: their mentions move over, their names become aliases."""
    target = PolicyDocument.objects.select_for_update().get(pk=target_id)
    others = list(
        PolicyDocument.objects.select_for_update().filter(pk__in=list(other_ids)).exclude(pk=target.pk)
    )
    if not others:
        return target
    other_pks = [doc.pk for doc in others]
    covered = set(target.mentions.values_list("article_id", flat=True))
    moved: list[int] = []
    # An article mentioning two of the merged documents keeps one mention (the earliest).
    for mention_id, article_id in (
        PolicyMention.objects.filter(document_id__in=other_pks).order_by("id").values_list("id", "article_id")
    ):
        if article_id not in covered:
            covered.add(article_id)
            moved.append(mention_id)
    PolicyMention.objects.filter(id__in=moved).update(document=target)
    target.aliases = _aliases_merged(
        name=target.name, lists=[target.aliases or [], *([doc.name, *(doc.aliases or [])] for doc in others)]
    )
    target.save(update_fields=["aliases"])
    # Deleting cascades to the duplicate mentions that were not moved.
    PolicyDocument.objects.filter(pk__in=other_pks).delete()
    return target


def policy_merge_target_pick(*, document_ids: Iterable[int]) -> int | None:
    """The document with most mentions (oldest on a tie): the one the others merge into."""
    best = (
        PolicyDocument.objects.filter(pk__in=list(document_ids))
        .annotate(n=Count("mentions"))
        .order_by("-n", "id")
        .values_list("id", flat=True)
        .first()
    )
    return best


def policy_documents_merge_selected(*, document_ids: Iterable[int]) -> tuple[PolicyDocument | None, int]:
    """Merge the selection into its most mentioned document. Returns (target, number merged)."""
    ids = list(document_ids)
    target_id = policy_merge_target_pick(document_ids=ids)
    if target_id is None or len(ids) < 2:
        return None, 0
    others = [pk for pk in ids if pk != target_id]
    return policy_documents_merge(target_id=target_id, other_ids=others), len(others)


def policy_document_aliases_apply(*, document: PolicyDocument) -> int:
    """After an editor's edit: documents whose name is now an alias of this one are merged into it."""
    aliases = [a for a in document.aliases or [] if a != document.name]
    duplicates = list(
        PolicyDocument.objects.filter(name__in=aliases).exclude(pk=document.pk).values_list("id", flat=True)
    )
    if duplicates:
        policy_documents_merge(target_id=document.pk, other_ids=duplicates)
    return len(duplicates)


# --- reading ------------------------------------------------------------------------------------


def _published_mentions_count() -> Count:
    return Count("mentions", filter=Q(mentions__article__status=Article.Status.PUBLISHED))


def policy_documents_with_counts(*, kind: str = "") -> QuerySet[PolicyDocument]:
    """Documents mentioned by at least one published article, most mentioned first."""
    qs = PolicyDocument.objects.annotate(article_count=_published_mentions_count())
    qs = qs.filter(article_count__gt=0)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-article_count", "name")


def policy_documents_page(*, page: object, kind: str = "") -> Page:
    """One page of the document list: a count query and a rows query, whatever the page."""
    return Paginator(policy_documents_with_counts(kind=kind), POLICY_DOCUMENTS_PER_PAGE).get_page(page)


def policy_documents_popular(*, limit: int) -> list[PolicyDocument]:
    return list(policy_documents_with_counts()[:limit])


def policy_documents_for_article(*, article: Article) -> list[PolicyDocument]:
    """Documents the article mentions, in the order the article first mentions them."""
    return list(PolicyDocument.objects.filter(mentions__article=article).order_by("mentions__id"))


def policy_document_articles(*, document: PolicyDocument, page: object) -> Page:
    """Published articles mentioning the document, newest first, with source and authors.

    Three queries whatever the page size: count, rows with their source, authors.
    """
    articles = (
        Article.objects.filter(status=Article.Status.PUBLISHED, policy_mentions__document=document)
        .select_related("source")
        .prefetch_related("authors")
        .defer("raw_text", "body_markdown", "body_text", "minhash")
        .order_by(F("published_on").desc(nulls_last=True), "-id")
    )
    return Paginator(articles, POLICY_ARTICLES_PER_PAGE).get_page(page)


@dataclass
class MonthGroup:
    key: str  # "2024-05", or "" for undated articles
    label: str
    articles: list[Article] = field(default_factory=list)


def articles_by_month(*, articles: Iterable[Article]) -> list[MonthGroup]:
    """Consecutive articles grouped by publication month, keeping their order (newest first)."""
    groups: list[MonthGroup] = []
    for article in articles:
        day: datetime.date | None = article.published_on
        key = f"{day.year}-{day.month:02d}" if day else ""
        if not groups or groups[-1].key != key:
            label = f"{day.year}年{day.month}月" if day else UNDATED_LABEL
            groups.append(MonthGroup(key=key, label=label))
        groups[-1].articles.append(article)
    return groups
