"""Writes for articles: upserting a parsed file, re-cleaning, curation.

The ingest sequence that calls ``article_upsert`` (inputs, runs, items, claims) lives in
``articles.ingest``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from django.db import IntegrityError, transaction

from zhtext.analysis import dictionary_refresh, terms_key, terms_pack, text_terms_once
from zhtext.keywords import keywords_json

from .canonical import canonical_url
from .cleaning import CleanResult, clean_article
from .models import Article, Author, IngestItem, Source, Tag
from .parsing import ParsedFile, ParseError, parse_article
from .policy import (
    PolicyRead,
    article_policy_mentions_sync,
    article_policy_read,
    articles_policy_mentions_create,
)
from .reposts import article_bands, article_signature, article_story_assign, articles_stories_assign_new
from .signals import articles_changed_send

logger = logging.getLogger(__name__)

UNKNOWN_SOURCE = "未知来源"
Outcome = IngestItem.Outcome


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def article_url_key(*, parsed: ParsedFile, source_name: str) -> tuple[str, str]:
    """(canonical URL, identity key). Without a URL the identity is source + title + date."""
    canonical = canonical_url(parsed.url) if parsed.url else ""
    if canonical:
        return canonical, _sha256(canonical)
    published = parsed.published.isoformat() if parsed.published else ""
    return "", _sha256(f"nourl|{source_name}|{parsed.title.strip()}|{published}")


def article_url_key_of(*, parsed: ParsedFile) -> str:
    """The identity key of the article a parsed file describes (see ``article_url_key``)."""
    return article_url_key(parsed=parsed, source_name=_source_name(parsed))[1]


def articles_stored(*, url_keys: Iterable[str]) -> set[str]:
    """Which of the identity keys are stored already."""
    return set(Article.objects.filter(url_key__in=list(url_keys)).values_list("url_key", flat=True))


def _source_name(parsed: ParsedFile) -> str:
    if parsed.source.strip():
        return parsed.source.strip()[:200]
    return UNKNOWN_SOURCE


def _article_fields(*, parsed: ParsedFile, cleaned: CleanResult, canonical: str) -> dict:
    return {
        "title": parsed.title.strip()[:500],
        "url": parsed.url,
        "canonical_url": canonical,
        "published_on": parsed.published,
        "fetched_at": parsed.fetched_at,
        "raw_text": parsed.text,
        "body_markdown": cleaned.body_markdown,
        "body_text": cleaned.body_text,
        "summary": cleaned.summary,
        "cover_image": cleaned.cover_image,
        "attribution": cleaned.attribution[:300],
        "content_hash": _sha256(parsed.text),
    }


def _analysed_fields(*, title: str, body_text: str) -> dict:
    """Keywords and the body's index terms, from one segmentation of the body (cached in
    ``zhtext.analysis`` for the repost fingerprint that follows)."""
    # The admin's newest words (a database read at most every few seconds): segmented
    # without them, the stored terms would not be the ones the index would make.
    dictionary_refresh()
    return {
        "keywords": keywords_json(title=title, text=body_text),
        "body_terms": terms_pack(text_terms_once(body_text)),
        "body_terms_key": terms_key(body_text),
    }


def _authors_set(*, article: Article, names: Iterable[str]) -> None:
    """Link the named authors, creating the new ones: one read and at most one insert for all."""
    wanted = list(dict.fromkeys(n.strip()[:100] for n in names if n.strip()))
    if not wanted:
        article.authors.set([])
        return
    known = {a.name: a for a in Author.objects.filter(name__in=wanted)}
    missing = [name for name in wanted if name not in known]
    if missing:
        # another worker may create the same name meanwhile: keep theirs
        Author.objects.bulk_create([Author(name=name) for name in missing], ignore_conflicts=True)
        known.update((a.name, a) for a in Author.objects.filter(name__in=missing))
    article.authors.set([known[name] for name in wanted])


def _article_links_sync(
    *, article: Article, cleaned: CleanResult, signature: bytes | None = None, fresh: bool = False
) -> None:
    """What hangs off a stored body: its authors, the policy documents it mentions, its story.
    ``fresh``: the article was just created, so it has no links yet to read and compare."""
    _authors_set(article=article, names=cleaned.authors)
    article_policy_mentions_sync(article=article)
    article_story_assign(article=article, signature=signature, fresh=fresh)


@dataclass(frozen=True)
class ArticleDraft:
    """The part of an upsert that only computes: cleaning, one segmentation of the body feeding
    its keywords, index terms and repost fingerprint. Made before the transaction opens, so
    concurrent ingest holds the database's write lock only while it writes."""

    source_name: str
    cleaned: CleanResult
    fields: dict
    signature: bytes


def article_draft(*, parsed: ParsedFile) -> ArticleDraft:
    """Clean and analyse a parsed file; raises ``ParseError`` when nothing but boilerplate is left."""
    source_name = _source_name(parsed)
    canonical, _key = article_url_key(parsed=parsed, source_name=source_name)
    cleaned = clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=source_name)
    if not cleaned.body_text.strip():
        raise ParseError("清洗后正文为空（全部是网站模板内容）")
    fields = _article_fields(parsed=parsed, cleaned=cleaned, canonical=canonical)
    fields.update(_analysed_fields(title=fields["title"], body_text=fields["body_text"]))
    return ArticleDraft(
        source_name=source_name,
        cleaned=cleaned,
        fields=fields,
        signature=article_signature(text=fields["body_text"]),
    )


def _kept_reason(
    *, existing_hash: str, existing_fetched, parsed: ParsedFile, content_hash: str
) -> str | None:
    """Why the stored article stays as it is ("" when it is the same text), or None to write."""
    if existing_hash == content_hash:
        return ""
    if existing_fetched and parsed.fetched_at and parsed.fetched_at < existing_fetched:
        return "已有更新的抓取版本，保留已存内容"
    return None


def article_draft_wanted(*, parsed: ParsedFile) -> bool:
    """Whether ``article_upsert`` would write anything (a read without locks, to skip the
    drafting of a file that is already stored; the upsert checks again under its lock)."""
    _canonical, key = article_url_key(parsed=parsed, source_name=_source_name(parsed))
    stored = Article.objects.filter(url_key=key).values_list("content_hash", "fetched_at").first()
    if stored is None:
        return True
    return (
        _kept_reason(
            existing_hash=stored[0],
            existing_fetched=stored[1],
            parsed=parsed,
            content_hash=_sha256(parsed.text),
        )
        is None
    )


def article_upsert(*, parsed: ParsedFile, draft: ArticleDraft | None = None) -> tuple[Article, str, str]:
    """Create or update the article a parsed file describes. Returns (article, outcome, note).

    Curation (status, featured flag, tags) is never touched by a re-ingest. An older crawl of
    an article we already hold does not overwrite the newer one. ``draft`` is the file's
    ``article_draft`` when the caller made it beforehand (outside the transaction).
    """
    source_name = _source_name(parsed)
    _canonical, key = article_url_key(parsed=parsed, source_name=source_name)
    existing = Article.objects.select_for_update().filter(url_key=key).first()
    if existing is not None:
        kept = _kept_reason(
            existing_hash=existing.content_hash,
            existing_fetched=existing.fetched_at,
            parsed=parsed,
            content_hash=_sha256(parsed.text),
        )
        if kept is not None:
            return existing, Outcome.UNCHANGED, kept

    draft = draft or article_draft(parsed=parsed)
    host = urlparse(parsed.url).hostname or ""
    source, _ = Source.objects.get_or_create(name=draft.source_name, defaults={"site": host})
    fields = {**draft.fields, "minhash": draft.signature}  # (no UPDATE for it afterwards)
    if existing is None:
        try:
            with transaction.atomic():
                article = Article.objects.create(url_key=key, source=source, **fields)
            outcome = Outcome.CREATED
        except IntegrityError:
            # Another worker created the same article a moment ago; update it instead.
            article = Article.objects.select_for_update().get(url_key=key)
            outcome = Outcome.UPDATED
    else:
        article = existing
        outcome = Outcome.UPDATED
    if outcome == Outcome.UPDATED:
        for name, value in fields.items():
            setattr(article, name, value)
        article.source = source
        article.save()
    _article_links_sync(
        article=article, cleaned=draft.cleaned, signature=draft.signature, fresh=outcome == Outcome.CREATED
    )
    return article, outcome, "；".join(draft.cleaned.warnings)


@dataclass(frozen=True)
class NewArticle:
    """One file of a batch whose article does not exist yet (see ``articles_create_batch``),
    with what its rows are made of, worked out before the batch's transaction opens
    (``article_new``): the article (no source, no id yet), what it says about policy
    documents and its repost bands. The transaction then holds its locks (a new source's or
    policy document's name, the story lock) only while it writes: the reading was a fifth of
    the time a batch's transaction held them, while the other ingest worker could wait."""

    parsed: ParsedFile
    draft: ArticleDraft
    url_key: str
    article: Article
    policy: PolicyRead
    bands: list[str]


def article_new(*, parsed: ParsedFile, draft: ArticleDraft, url_key: str) -> NewArticle:
    """A new file's ``NewArticle`` (no database access)."""
    article = Article(url_key=url_key, **{**draft.fields, "minhash": draft.signature})
    return NewArticle(
        parsed=parsed,
        draft=draft,
        url_key=url_key,
        article=article,
        policy=article_policy_read(article=article),
        bands=article_bands(signature=draft.signature),
    )


def _sources_get(*, drafts: Iterable[tuple[str, str]]) -> dict[str, Source]:
    """(name, site) pairs → their sources, the missing ones created: one read, one insert."""
    wanted = dict(drafts)
    known = {s.name: s for s in Source.objects.filter(name__in=list(wanted))}
    missing = [name for name in wanted if name not in known]
    if missing:
        # another worker may create the same source meanwhile: keep theirs
        Source.objects.bulk_create([Source(name=n, site=wanted[n]) for n in missing], ignore_conflicts=True)
        known.update((s.name, s) for s in Source.objects.filter(name__in=missing))
    return known


def _authors_link_batch(*, links: list[tuple[Article, list[str]]]) -> None:
    """Link the new articles to their named authors, creating the missing authors: one read
    and at most two inserts for the whole batch (``_authors_set`` does one article)."""
    wanted = {a.pk: list(dict.fromkeys(n.strip()[:100] for n in names if n.strip())) for a, names in links}
    names = sorted({name for row in wanted.values() for name in row})
    if not names:
        return
    known = {a.name: a.pk for a in Author.objects.filter(name__in=names)}
    missing = [name for name in names if name not in known]
    if missing:
        Author.objects.bulk_create([Author(name=name) for name in missing], ignore_conflicts=True)
        known.update(Author.objects.filter(name__in=missing).values_list("name", "pk"))
    through = Article.authors.through
    through.objects.bulk_create(
        [
            through(article_id=article_id, author_id=known[name])
            for article_id, row in wanted.items()
            for name in row
        ]
    )


def entries_sources(*, entries: Sequence[NewArticle]) -> dict[str, Source]:
    """The sources of new files' articles, the missing ones created (one read, one insert).

    Called before the batch's transaction (``ingest``), each new source is committed by its
    own statement. Inside it, a worker creating a source another worker's open batch had just
    created waited for that whole batch to commit (in the benchmark's profile 2.5 % of the
    workers' time, all of it at the start, where every source is new). A source created for
    a batch that then fails stays, with no articles, as one created by a concurrent worker
    would."""
    # (reversed: a new source takes the site of its first article, as the upsert's get_or_create does)
    return _sources_get(
        drafts=[(e.draft.source_name, urlparse(e.parsed.url).hostname or "") for e in reversed(entries)]
    )


def articles_create_batch(
    *, entries: list[NewArticle], sources: dict[str, Source] | None = None
) -> list[Article]:
    """Create the articles of many new files at once, as ``article_upsert`` would one by one:
    the same rows, authors, policy mentions and stories, with a handful of statements for the
    batch instead of a few dozen per article.

    Call inside a transaction. Raises ``IntegrityError`` when one of the URL keys was stored
    meanwhile (another worker): nothing of the batch is written then, and the caller falls
    back to ``article_upsert`` file by file. Stories are assigned in the batch's order, each
    article seeing the ones before it, exactly as separate upserts would. ``sources``: the
    entries' ``entries_sources``, when found before the transaction.
    """
    if not entries:
        return []
    if sources is None or any(e.draft.source_name not in sources for e in entries):
        sources = entries_sources(entries=entries)
    articles = [e.article for e in entries]
    for entry in entries:
        entry.article.source = sources[entry.draft.source_name]
    with transaction.atomic():
        Article.objects.bulk_create(articles)
    _authors_link_batch(links=[(a, e.draft.cleaned.authors) for a, e in zip(articles, entries, strict=True)])
    articles_policy_mentions_create(reads=[e.policy for e in entries])
    articles_stories_assign_new(articles=articles, bands=[e.bands for e in entries])
    # bulk_create sends no post_save: the index hears of the new articles here
    articles_changed_send(ids=[a.pk for a in articles])
    return articles


def article_reclean(*, article_id: int) -> bool:
    """Re-run parsing and cleaning on the stored raw text. Returns whether the article changed."""
    with transaction.atomic():
        article = Article.objects.select_for_update().filter(id=article_id).first()
        if article is None:
            return False
        parsed = parse_article(data=article.raw_text.encode("utf-8"))
        cleaned = clean_article(
            markdown=parsed.body, url=parsed.url, title=parsed.title, source=article.source.name
        )
        fields = _article_fields(parsed=parsed, cleaned=cleaned, canonical=article.canonical_url)
        # Keep the identity and the raw text exactly as first stored.
        for kept in ("url", "canonical_url", "raw_text", "content_hash", "title"):
            fields.pop(kept)
        fields.update(_analysed_fields(title=article.title, body_text=fields["body_text"]))
        changed = any(getattr(article, name) != value for name, value in fields.items())
        if changed:
            for name, value in fields.items():
                setattr(article, name, value)
            article.save()
        _article_links_sync(article=article, cleaned=cleaned)
    return changed


def articles_status_set(*, article_ids: Iterable[int], status: str) -> int:
    """Publish or hide. Saves row by row so the search index hears about each change."""
    count = 0
    for article in Article.objects.filter(id__in=list(article_ids)).exclude(status=status):
        article.status = status
        article.save(update_fields=["status", "updated_at"])
        count += 1
    return count


def articles_featured_set(*, article_ids: Iterable[int], featured: bool) -> int:
    count = 0
    for article in Article.objects.filter(id__in=list(article_ids)).exclude(featured=featured):
        article.featured = featured
        article.save(update_fields=["featured", "updated_at"])
        count += 1
    return count


def tags_apply_by_title(*, rules: dict[str, list[str]]) -> dict[str, int]:
    """Tag the articles whose title contains one of a tag's words (the demo's curation).
    Adds only (an editor's tags stay); through ``tags.add`` so the index hears of it.
    Returns how many articles each tag was newly given."""
    added: dict[str, int] = {}
    for name, words in rules.items():
        tag, _ = Tag.objects.get_or_create(name=name.strip()[:50])
        matching = Article.objects.none()
        for word in words:
            matching = matching | Article.objects.filter(title__contains=word)
        new = matching.exclude(tags=tag).distinct()
        count = 0
        for article in new:
            article.tags.add(tag)
            count += 1
        added[tag.name] = count
    return added
