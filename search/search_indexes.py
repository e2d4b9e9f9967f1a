"""What the search index holds for each published article.

Analysed fields (``text``, ``title``) hold jieba's precise words
(``search.engines.whoosh``; parts of words are found at query time from the term
list); the ``*_exact``/``year``/``month`` fields are un-analysed sortable
columns for facets (``policy``: the policy documents mentioned), ``story`` the
repost group used to collapse results. ``updated`` lets ``search_check`` spot
stale documents.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable

from django.db.models import QuerySet
from haystack import indexes
from haystack.fields import FacetMultiValueField

from articles.models import Article, PolicyDocument, PolicyMention
from zhtext.analysis import AnalysedText, terms_key, terms_pack, terms_unpack, text_terms

from .facets import DOCTYPE_NEWS, DOCTYPE_OFFICIAL, FACETS, Facet


def _search_head(*, article: Article) -> str:
    parts = [
        article.title,
        article.source.name if article.source_id else "",
        " ".join(a.name for a in article.authors.all()),
        " ".join(t.name for t in article.tags.all()),
        article.summary,
    ]
    return "\n".join(p for p in parts if p)


def article_search_analysed(*, article: Article) -> AnalysedText:
    """Everything a query may match (title, source, people, tags, summary and body), with its
    terms. The body's were stored at ingest and are used
    while their key still matches (same body, same dictionary); the rest is short and is
    segmented here. No term spans a line break, so the terms of the parts joined by newlines
    are the parts' terms one after another."""
    head = _search_head(article=article)
    body = article.body_text
    if not body:
        body_terms: list[str] = []
    else:
        key = terms_key(body)
        if article.body_terms_key == key:
            body_terms = terms_unpack(article.body_terms)
        else:
            body_terms = text_terms(body)
            if isinstance(article, Article) and article.pk:
                _terms_segmented_again[article.pk] = (terms_pack(body_terms), key)
                if len(_terms_segmented_again) >= TERMS_WRITE_BACK_BATCH:
                    body_terms_write_back()
    text = "\n".join(p for p in (head, body) if p)
    return AnalysedText(text=text, terms=(*text_terms(head), *body_terms))


# Bodies segmented again at indexing time (a changed dictionary or analysis revision made
# their stored terms stale), kept to be stored: the next re-index reads them instead of
# segmenting every body once more. Article id → (packed terms, key).
_terms_segmented_again: dict[int, tuple[str, str]] = {}
TERMS_WRITE_BACK_BATCH = 500


def body_terms_write_back() -> int:
    """Store the terms of the bodies segmented again since the last call; returns how many.

    Only the two terms columns are written (no save, no signal, ``updated_at`` unchanged:
    the index already holds these terms). A body edited meanwhile keeps its newer terms or
    gets these under the old body's key, which no longer matches it: either way the terms
    used are the body's own."""
    if not _terms_segmented_again:
        return 0
    rows = [
        Article(pk=pk, body_terms=packed, body_terms_key=key)
        for pk, (packed, key) in _terms_segmented_again.items()
    ]
    _terms_segmented_again.clear()
    Article.objects.bulk_update(rows, ["body_terms", "body_terms_key"], batch_size=200)
    return len(rows)


def index_version(*, updated_at: datetime.datetime | None, related: Iterable[Iterable[str]]) -> str:
    """What ``search_check`` compares an indexed document with: the row's ``updated_at`` and a
    digest of the related names the document holds (source, authors, tags, policy documents,
    issuers), so renaming a tag, which leaves the article row alone, still shows as stale."""
    payload = "\x1f".join("\x1e".join(sorted(values)) for values in related)
    digest = hashlib.sha1(payload.encode()).hexdigest()[:12]
    return f"{updated_at.isoformat() if updated_at else ''}#{digest}"


def articles_index_versions(*, ids: Iterable[int] | None = None) -> dict[int, str]:
    """``index_version`` of every published article (or of ``ids``) read in a handful of
    queries, for comparing the whole index with the database."""
    articles = Article.objects.filter(status=Article.Status.PUBLISHED)
    if ids is not None:
        articles = articles.filter(pk__in=list(ids))
    rows = {
        pk: (updated, source or "")
        for pk, updated, source in articles.values_list("id", "updated_at", "source__name")
    }
    related: dict[int, tuple[list[str], ...]] = {
        pk: ([source], [], [], [], []) for pk, (_u, source) in rows.items()
    }

    def collect(slot: int, pairs: Iterable[tuple[int, str]]) -> None:
        for pk, name in pairs:
            if pk in related and name is not None:
                related[pk][slot].append(name)

    collect(1, Article.authors.through.objects.values_list("article_id", "author__name"))
    collect(2, Article.tags.through.objects.values_list("article_id", "tag__name"))
    collect(3, PolicyMention.objects.values_list("article_id", "document__name").distinct())
    issuers: dict[int, list[str]] = {}
    for pk, names in PolicyDocument.objects.exclude(official_article=None).values_list(
        "official_article_id", "issuers"
    ):
        issuers.setdefault(pk, [])
        issuers[pk].extend(name for name in names or [] if name not in issuers[pk])
    collect(4, ((pk, name) for pk, names in issuers.items() for name in names))
    return {pk: index_version(updated_at=rows[pk][0], related=related[pk]) for pk in rows}


def _related(obj: Article, relation: str) -> list:
    """The article's prefetched related rows, read once per preparation
    (``ArticleIndex.full_prepare`` forgets them): the fields below ask for each relation
    two or three times, and every ``.all()`` makes a manager and a queryset (a tenth of
    preparing a batch)."""
    memo = obj.__dict__.setdefault("_index_related", {})
    found = memo.get(relation)
    if found is None:
        found = memo[relation] = list(getattr(obj, relation).all())
    return found


def _facet_field(facet: Facet) -> indexes.SearchField:
    return FacetMultiValueField(null=True) if facet.multi_valued else indexes.FacetCharField(null=True)


# The facet fields come from the registry (``search.facets``): adding a facet there adds its
# field here, and ``ArticleIndex`` then needs its ``prepare_<field>`` (a test checks).
FacetFields = indexes.DeclarativeMetaclass(
    "FacetFields",
    (indexes.SearchIndex,),
    {"__module__": __name__, **{facet.field: _facet_field(facet) for facet in FACETS}},
)


class ArticleIndex(FacetFields, indexes.Indexable):
    text = indexes.CharField(document=True)
    title = indexes.CharField(model_attr="title")
    source = indexes.CharField()
    authors = indexes.MultiValueField()
    tags = indexes.MultiValueField()
    published = indexes.DateField(model_attr="published_on", null=True)
    # the repost group; an article outside any group gets its own value (-id), so
    # results can be collapsed to one hit per story
    story = indexes.IntegerField()
    updated = indexes.CharField(indexed=False)

    def get_model(self) -> type[Article]:
        return Article

    def index_queryset(self, using: str | None = None) -> QuerySet[Article]:
        return (
            Article.objects.filter(status=Article.Status.PUBLISHED)
            .select_related("source")
            .prefetch_related("authors", "tags", "policy_documents", "policy_records_official")
            # the original file and the markdown are the biggest columns and no field reads them
            .defer("raw_text", "body_markdown", "minhash")
            .order_by("id")
        )

    def read_queryset(self, using: str | None = None) -> QuerySet[Article]:
        return self.index_queryset(using)

    def get_updated_field(self) -> str:
        return "updated_at"

    def full_prepare(self, obj: Article, with_string_facet: bool = True) -> dict:
        obj.__dict__.pop("_index_related", None)
        try:
            return super().full_prepare(obj, with_string_facet)
        finally:
            obj.__dict__.pop("_index_related", None)

    def prepare_text(self, obj: Article) -> AnalysedText:
        return article_search_analysed(article=obj)

    def prepared_store(self) -> int:
        """What preparing found worth keeping (terms segmented again): engines call this
        after preparing a batch, in the process that prepared it."""
        return body_terms_write_back()

    def prepare_source(self, obj: Article) -> str:
        return obj.source.name if obj.source_id else ""

    def prepare_authors(self, obj: Article) -> list[str]:
        return [a.name for a in _related(obj, "authors")]

    def prepare_tags(self, obj: Article) -> list[str]:
        return [t.name for t in _related(obj, "tags")]

    def prepare_year(self, obj: Article) -> str | None:
        return f"{obj.published_on.year:04d}" if obj.published_on else None

    def prepare_month(self, obj: Article) -> str | None:
        return obj.published_on.strftime("%Y-%m") if obj.published_on else None

    def prepare_source_exact(self, obj: Article) -> str:
        return self.prepare_source(obj)

    def prepare_author_exact(self, obj: Article) -> list[str]:
        return self.prepare_authors(obj)

    def prepare_tag_exact(self, obj: Article) -> list[str]:
        return self.prepare_tags(obj)

    def prepare_policy(self, obj: Article) -> list[str]:
        # names of the policy documents the article mentions
        return sorted({d.name for d in _related(obj, "policy_documents")})

    def prepare_issuer_exact(self, obj: Article) -> list[str]:
        # an official text carries its document's issuers; a news item none
        return list(
            dict.fromkeys(i for d in _related(obj, "policy_records_official") for i in d.issuers or [])
        )

    def prepare_doctype(self, obj: Article) -> str:
        return DOCTYPE_OFFICIAL if _related(obj, "policy_records_official") else DOCTYPE_NEWS

    def prepare_story(self, obj: Article) -> int:
        return obj.story_id if obj.story_id else -obj.pk

    def prepare_updated(self, obj: Article) -> str:
        return index_version(
            updated_at=obj.updated_at,
            related=(
                [self.prepare_source(obj)],
                self.prepare_authors(obj),
                self.prepare_tags(obj),
                self.prepare_policy(obj),
                self.prepare_issuer_exact(obj),
            ),
        )
