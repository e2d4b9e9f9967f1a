"""Reposts: the same story republished by several accounts, grouped into a ``Story``.

At ingest each article gets a MinHash signature of its cleaned body and one
``ArticleBand`` row per LSH band (see ``zhtext.fingerprint``). Articles sharing a band
are candidates; a candidate is a repost when the estimated similarity reaches
``REPOST_THRESHOLD`` (``SAME_SOURCE_THRESHOLD`` within one source) and it is not the
very same page (same source and same canonical link). Clusters are single-linkage: an
article joins the story of every article it matches, and stories it bridges are merged.

Story membership is written with ``QuerySet.update`` so reassigning many articles costs
one statement and does not re-run the save hooks of unrelated rows; the moved ids are
queued for the search index explicitly (``_story_set``), since results collapse by story.
Editors' merges and splits set ``Article.story_locked``: automatic detection never moves
a locked article, nor joins anything to a locked article that was split off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Count

from zhtext.fingerprint import (
    BANDS,
    ROWS,
    minhash_bands,
    minhash_signature,
    minhash_similarity,
    text_evidence,
)

from .models import Article, ArticleBand, Story
from .rows import rows_update
from .signals import articles_changed_send

# Estimated shingle Jaccard at which two bodies count as the same story. True reposts
# with different boilerplate measure 0.8–1.0 on the demo and real corpora; different
# reports written from one template by different accounts reach about 0.4.
REPOST_THRESHOLD = 0.6
# Within one account the bar is much higher: series written from a template (e.g. one
# "漏洞复现" post per product, a few hundred characters each) measure 0.5–0.75 while
# being different stories, and an account republishing its own article keeps it
# nearly word for word.
SAME_SOURCE_THRESHOLD = 0.9
# Fewer CJK characters + Latin words than this is too little evidence: short notices
# ("会议通知", a photo caption) share most of their shingles by chance.
MIN_EVIDENCE = 80
# Arbitrary constant key for the PostgreSQL advisory lock that serialises assignment.
_LOCK_KEY = 0x5E905705


def _assign_lock() -> None:
    """Serialise story assignment until the transaction ends (PostgreSQL only).

    Two workers ingesting the two halves of a repost pair at the same moment would
    each miss the other's uncommitted bands. SQLite already serialises writers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _story_set(*, articles, story: Story | None, **extra) -> int:
    """Move the articles to ``story`` and queue them for reindexing once the move commits."""
    ids = list(articles.values_list("id", flat=True))
    if ids:
        Article.objects.filter(id__in=ids).update(story=story, **extra)
        articles_changed_send(ids=ids)
    return len(ids)


def article_signature(*, text: str) -> bytes:
    """The stored signature of a body: empty when the body is too short to compare."""
    if text_evidence(text=text) < MIN_EVIDENCE:
        return b""
    return minhash_signature(text=text)


def _bands_replace(*, article: Article, bands: list[str]) -> None:
    current = set(ArticleBand.objects.filter(article=article).values_list("band", flat=True))
    wanted = set(bands)
    if current - wanted:
        ArticleBand.objects.filter(article=article, band__in=current - wanted).delete()
    _bands_insert(rows=[(article.pk, band) for band in sorted(wanted - current)])


def _required_similarity(*, same_source: bool, same_url: bool) -> float | None:
    """The similarity a candidate must reach; None when it is the very same page."""
    if same_source and same_url:
        return None
    return SAME_SOURCE_THRESHOLD if same_source else REPOST_THRESHOLD


def article_matches(*, article: Article, signature: bytes, bands: list[str]) -> list[tuple[int, int | None]]:
    """(id, story id) of the articles that are reposts of ``article``, from one indexed query."""
    if not bands:
        return []
    # A semi-join on the indexed band column; no DISTINCT over the signature bytes.
    sharing = ArticleBand.objects.filter(band__in=bands).values("article_id")
    candidates = (
        Article.objects.filter(id__in=sharing)
        .exclude(pk=article.pk)
        .exclude(story_locked=True, story=None)
        .order_by()
        .values_list("id", "source_id", "canonical_url", "minhash", "story_id")
    )
    matches = []
    for other_id, source_id, url, other_sig, story_id in candidates:
        required = _required_similarity(
            same_source=source_id == article.source_id, same_url=url == article.canonical_url
        )
        if required is not None and minhash_similarity(signature, bytes(other_sig)) >= required:
            matches.append((other_id, story_id))
    return matches


def stories_dissolve_small(*, story_ids: Iterable[int]) -> int:
    """Delete the given stories that are left with fewer than two articles; returns how many."""
    small = list(
        Story.objects.filter(id__in=list(story_ids))
        .annotate(n=Count("articles"))
        .filter(n__lt=2)
        .values_list("id", flat=True)
    )
    if small:
        _story_set(articles=Article.objects.filter(story_id__in=small), story=None)
        Story.objects.filter(id__in=small).delete()
    return len(small)


def _stories_join(*, members: dict[int, int | None], story_ids: set[int]) -> Story:
    """Put the articles (id → current story id) and every article of the stories into one story.

    The oldest story survives. Only rows that actually move are written, so joining an
    article to the story it is already in issues no statement at all.
    """
    if story_ids:
        target = Story.objects.get(id=min(story_ids))
    else:
        target = Story.objects.create()
    others = story_ids - {target.id}
    moving = [i for i, story_id in members.items() if story_id != target.id and story_id not in others]
    if moving:
        _story_set(articles=Article.objects.filter(id__in=moving), story=target)
    if others:
        _story_set(articles=Article.objects.filter(story_id__in=others), story=target)
        Story.objects.filter(id__in=others).delete()
    return target


def article_fingerprint_store(
    *, article: Article, signature: bytes | None = None, fresh: bool = False
) -> tuple[bytes, list[str]]:
    """Compute (unless given: ``article_signature`` of its body) and store the article's
    signature and band rows; writes only what changed. ``fresh``: the article was created in
    this transaction, so it has no band rows to read."""
    if signature is None:
        signature = article_signature(text=article.body_text)
    bands = article_bands(signature=signature)
    if bytes(article.minhash or b"") != signature:
        Article.objects.filter(pk=article.pk).update(minhash=signature)
        article.minhash = signature
    if fresh:
        _bands_insert(rows=[(article.pk, band) for band in bands])
    else:
        _bands_replace(article=article, bands=bands)
    return signature, bands


def article_story_link(
    *, article: Article, signature: bytes, bands: list[str], fresh: bool = False
) -> Story | None:
    """Put the article in the story of the stored articles it matches (see module docstring)."""
    matches = article_matches(article=article, signature=signature, bands=bands)
    if fresh:
        old_story_id = None
    else:
        old_story_id = Article.objects.filter(pk=article.pk).values_list("story_id", flat=True).first()
    if not matches:
        if old_story_id is not None:
            _story_set(articles=Article.objects.filter(pk=article.pk), story=None)
            stories_dissolve_small(story_ids=[old_story_id])
        article.story = None
        return None
    story_ids = {story_id for _, story_id in matches if story_id is not None}
    story = _stories_join(members={article.pk: old_story_id, **dict(matches)}, story_ids=story_ids)
    if old_story_id is not None and old_story_id not in story_ids:
        stories_dissolve_small(story_ids=[old_story_id])
    article.story = story
    return story


def article_story_assign(
    *, article: Article, signature: bytes | None = None, fresh: bool = False
) -> Story | None:
    """Fingerprint ``article`` and put it in the story of the articles it is a repost of.

    ``signature``: the body's, when the caller computed it already (outside the transaction);
    ``fresh``: the article was created in the caller's transaction (nothing stored to read).
    Idempotent: a second run on unchanged text writes nothing. An article whose text no
    longer matches any member of its story leaves it; a story left with one article is
    dissolved.
    """
    with transaction.atomic():
        _assign_lock()
        signature, bands = article_fingerprint_store(article=article, signature=signature, fresh=fresh)
        if not fresh and Article.objects.filter(pk=article.pk, story_locked=True).exists():
            return article.story
        return article_story_link(article=article, signature=signature, bands=bands, fresh=fresh)


def article_bands(*, signature: bytes) -> list[str]:
    """The LSH band keys of a stored signature, sorted (none for an empty one)."""
    return sorted(set(minhash_bands(signature=signature, bands=BANDS, rows=ROWS))) if signature else []


def articles_stories_assign_new(
    *, articles: Sequence[Article], bands: Sequence[list[str]] | None = None
) -> None:
    """``article_story_assign(fresh=True)`` for articles just created together, in their order:
    each joins the stories of the stored articles it matches and of those before it in the
    list, exactly as one upsert after another would, with one insert of all their bands and
    one read of every candidate instead of both per article. ``bands``: each article's
    ``article_bands``, when worked out before the transaction."""
    if not articles:
        return
    if bands is None:
        bands = [article_bands(signature=bytes(a.minhash or b"")) for a in articles]
    with transaction.atomic():
        _assign_lock()
        _bands_insert(rows=[(a.pk, band) for a, keys in zip(articles, bands, strict=True) for band in keys])
        sharers_of = _band_sharers(article_ids=[a.pk for a in articles])
        ids = sorted(set().union(*sharers_of.values())) if sharers_of else []
        candidates: dict[int, tuple[int, str, bytes]] = {}
        story_of: dict[int, int | None] = {}
        for start in range(0, len(ids), 900):
            rows = (
                Article.objects.filter(id__in=ids[start : start + 900])
                .exclude(story_locked=True, story=None)
                .order_by()
                .values_list("id", "source_id", "canonical_url", "minhash", "story_id")
            )
            for other_id, source_id, url, signature, story_id in rows:
                candidates[other_id] = (source_id, url, bytes(signature))
                story_of[other_id] = story_id
        _stories_join_all(articles=articles, sharers_of=sharers_of, candidates=candidates, story_of=story_of)


def _bands_insert(*, rows: list[tuple[int, str]]) -> None:
    """Insert (article id, band) rows: ~32 per article, so not as model objects (building
    them and binding two parameters per row was a sixth of a batch's story assignment); on
    PostgreSQL as two arrays in one statement."""
    if not rows:
        return
    table = connection.ops.quote_name(ArticleBand._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            article_ids, bands = zip(*rows, strict=True)
            cursor.execute(
                f"INSERT INTO {table} (article_id, band) SELECT * FROM unnest(%s::bigint[], %s::varchar[])",
                [list(article_ids), list(bands)],
            )
        else:
            cursor.executemany(f"INSERT INTO {table} (article_id, band) VALUES (%s, %s)", rows)


def _band_sharers(*, article_ids: list[int]) -> dict[int, set[int]]:
    """Article id → the other articles that share one of its bands, found by the database
    (a self-join of the bands) so only the distinct pairs come back, not every (band,
    article) row of every band: in the benchmark's archive of reposts those were ~100 rows
    per new article."""
    table = connection.ops.quote_name(ArticleBand._meta.db_table)
    sharers: dict[int, set[int]] = {}
    for start in range(0, len(article_ids), 900):  # (within any database's limit of parameters)
        chunk = article_ids[start : start + 900]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Each band looked up in the band index (OFFSET 0 keeps the planner from
                # flattening the lateral join): while an ingest grows the table faster than
                # its statistics, PostgreSQL joined the whole table instead, sorted, in
                # parallel workers, 55 ms a batch against 11, and at a million articles
                # that plan reads 32 million rows a batch.
                cursor.execute(
                    f"SELECT DISTINCT mine.article_id, theirs.article_id FROM {table} mine"
                    f" CROSS JOIN LATERAL (SELECT other.article_id FROM {table} other"
                    f" WHERE other.band = mine.band AND other.article_id <> mine.article_id OFFSET 0) theirs"
                    f" WHERE mine.article_id = ANY(%s::bigint[])",
                    [chunk],
                )
            else:
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT DISTINCT mine.article_id, theirs.article_id FROM {table} mine"
                    f" JOIN {table} theirs"
                    f" ON theirs.band = mine.band AND theirs.article_id <> mine.article_id"
                    f" WHERE mine.article_id IN ({marks})",
                    chunk,
                )
            for mine, theirs in cursor.fetchall():
                sharers.setdefault(mine, set()).add(theirs)
    return sharers


def _stories_join_all(
    *,
    articles: Sequence[Article],
    sharers_of: dict[int, set[int]],
    candidates: dict[int, tuple[int, str, bytes]],
    story_of: dict[int, int | None],
) -> None:
    """The joins ``_stories_join`` would make article after article, worked out in memory and
    written at the end: one insert of the new stories, one update of every article whose
    story changes, one for the members of the stories merged away, one delete. The oldest
    story survives every merge (the root of a union-find over story ids). A story this
    batch starts has a stand-in id (negative, in order of creation) until it is inserted,
    and only when it survives: one statement per batch instead of one per new story and
    one per story that gains articles."""
    joined: dict[int, int] = {}  # a story merged away → the story it was merged into
    started = 0  # stand-in ids handed out: -1, -2, ...

    def current(story_id: int | None) -> int | None:
        while story_id in joined:
            story_id = joined[story_id]
        return story_id

    def age(story_id: int) -> tuple[bool, int]:  # stored stories, then stand-ins; oldest first
        return (story_id < 0, abs(story_id))

    stored = dict(story_of)  # the candidates' stories as the database has them
    later = {a.pk for a in articles}
    for article in articles:
        later.discard(article.pk)
        matches: list[int] = []
        for other_id in sorted(sharers_of.get(article.pk, set()) - later):
            if other_id not in candidates:
                continue
            source_id, url, signature = candidates[other_id]
            required = _required_similarity(
                same_source=source_id == article.source_id, same_url=url == article.canonical_url
            )
            if required is not None and minhash_similarity(bytes(article.minhash), signature) >= required:
                matches.append(other_id)
        if not matches:
            continue
        story_ids = {current(story_of[other_id]) for other_id in matches} - {None}
        if story_ids:
            target = min(story_ids, key=age)
        else:
            started += 1
            target = -started
        for merged in story_ids - {target}:
            joined[merged] = target
        for member_id in (article.pk, *matches):
            story_of[member_id] = target
    standing_in = sorted((sid for sid in range(-1, -started - 1, -1) if sid not in joined), key=age)
    made = Story.objects.bulk_create([Story() for _ in standing_in])
    real = {sid: story.pk for sid, story in zip(standing_in, made, strict=True)}

    def final(story_id: int | None) -> int | None:
        story_id = current(story_id)
        return real.get(story_id, story_id) if story_id is not None else None

    moves = [
        Article(pk=article_id, story_id=final(story_id))
        for article_id, story_id in story_of.items()
        if final(story_id) != stored.get(article_id)
    ]
    rows_update(rows=moves, fields=["story_id"])
    changed = [a.pk for a in moves]
    merged_into: dict[int, list[int]] = {}
    for merged in joined:
        if merged > 0:  # a stored story; a stand-in merged away was never inserted
            merged_into.setdefault(final(merged), []).append(merged)
    for target, merged in sorted(merged_into.items()):
        members = Article.objects.filter(story_id__in=merged)
        changed.extend(members.values_list("id", flat=True))
        members.update(story_id=target)
        Story.objects.filter(id__in=merged).delete()
    if changed:
        articles_changed_send(ids=changed)
    for article in articles:
        article.story_id = final(story_of.get(article.pk))


def stories_merge(*, article_ids: Iterable[int]) -> Story | None:
    """Merge the articles, and every story they belong to, into one story.

    None when fewer than two articles would be in it.
    """
    ids = set(article_ids)
    with transaction.atomic():
        _assign_lock()
        story_ids = set(
            Article.objects.filter(id__in=ids, story__isnull=False).values_list("story_id", flat=True)
        )
        members = dict(Article.objects.filter(id__in=ids).values_list("id", "story_id"))
        members.update(Article.objects.filter(story_id__in=story_ids).values_list("id", "story_id"))
        if len(members) < 2:
            return None
        story = _stories_join(members=members, story_ids=story_ids)
        Article.objects.filter(story=story).update(story_locked=True)
        return story


def articles_story_detach(*, article_ids: Iterable[int]) -> int:
    """Take the articles out of their stories. Returns how many left a story."""
    ids = list(article_ids)
    with transaction.atomic():
        _assign_lock()
        story_ids = set(
            Article.objects.filter(id__in=ids, story__isnull=False).values_list("story_id", flat=True)
        )
        count = _story_set(
            articles=Article.objects.filter(id__in=ids, story__isnull=False), story=None, story_locked=True
        )
        stories_dissolve_small(story_ids=story_ids)
    return count


def article_reposts(*, article: Article) -> list[Article]:
    """The other published articles of the article's story, oldest first ("also published by")."""
    if article.story_id is None:
        return []
    return list(
        Article.objects.filter(story_id=article.story_id, status=Article.Status.PUBLISHED)
        .exclude(pk=article.pk)
        .select_related("source")
        .order_by("published_on", "id")
    )


def stories_rebuild(*, progress: Callable[[], None] | None = None) -> tuple[int, int]:
    """Recompute every signature, band and story from scratch. Returns (stories, articles in stories).

    Two passes, so matching only ever compares signatures computed by the current code:
    first every fingerprint, then the linking, oldest article first. ``progress`` is
    called once per article and pass (for a progress bar).
    """
    with transaction.atomic():
        # Editors' decisions survive a rebuild: only automatic stories are recomputed.
        locked_stories = Article.objects.filter(story_locked=True).exclude(story=None).values("story_id")
        _story_set(
            articles=Article.objects.exclude(story=None).exclude(story_id__in=locked_stories), story=None
        )
        Story.objects.exclude(id__in=locked_stories).delete()
    fields = ("id", "body_text", "minhash", "source_id", "canonical_url", "story_id")
    ordered = Article.objects.order_by("published_on", "id")
    for article in ordered.only(*fields).iterator(chunk_size=200):
        with transaction.atomic():
            article_fingerprint_store(article=article)
        if progress is not None:
            progress()
    linkable = ordered.filter(story_locked=False).only("id", "minhash", "source_id", "canonical_url")
    for article in linkable.iterator(chunk_size=200):
        signature = bytes(article.minhash or b"")
        bands = article_bands(signature=signature)
        with transaction.atomic():
            _assign_lock()
            article_story_link(article=article, signature=signature, bands=bands)
        if progress is not None:
            progress()
    stories = Story.objects.count()
    members = Article.objects.exclude(story=None).count()
    return stories, members
