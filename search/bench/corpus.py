"""A synthetic corpus recombined from the real articles' paragraphs, titles, sources and dates.

Only the pools (a few thousand paragraphs) are kept in memory; documents are produced
one at a time, so 100 000 of them never sit in memory at once.
"""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from articles.models import Article
from articles.parsing import ParseError, parse_article

_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MARKUP_RE = re.compile(r"^[#>*\-\s|]+|[*_`]+")
_WORD_RE = re.compile(r"\w")

# Invented bylines: the crawled front matter has no author field.
AUTHOR_POOL = (
    "林晓岚",
    "周明远",
    "陈思齐",
    "王若溪",
    "赵启航",
    "孙语桐",
    "李一鸣",
    "吴承泽",
    "郑可欣",
    "冯子墨",
    "何清扬",
    "许安宁",
    "韩书瑶",
    "曹景行",
    "邓知远",
    "罗宇澄",
)
MIN_PARAGRAPH_CHARS = 12


@dataclass(frozen=True)
class CorpusPool:
    titles: tuple[str, ...]
    sources: tuple[str, ...]  # one entry per real article, so common sources stay common
    dates: tuple[datetime.date, ...]
    paragraphs: tuple[str, ...]
    paragraph_counts: tuple[int, ...]  # paragraphs per real article, to keep lengths realistic


@dataclass(frozen=True)
class SyntheticDoc:
    pk: int
    title: str
    source: str
    published: datetime.date
    authors: tuple[str, ...]
    body: str


def paragraph_clean(*, text: str) -> str:
    text = _IMAGE_RE.sub("", text)
    text = _LINK_RE.sub(r"\1", text)
    lines = [_MARKUP_RE.sub("", line).strip() for line in text.splitlines()]
    return " ".join(line for line in lines if line)


def corpus_pool_load(*, corpus_dir: Path) -> CorpusPool:
    titles: list[str] = []
    sources: list[str] = []
    dates: list[datetime.date] = []
    paragraphs: list[str] = []
    counts: list[int] = []
    for path in sorted(corpus_dir.glob("*.md")):
        try:
            parsed = parse_article(data=path.read_bytes())
        except ParseError:
            continue
        titles.append(parsed.title)
        sources.append(parsed.source or "未知来源")
        if parsed.published:
            dates.append(parsed.published)
        kept = 0
        for block in re.split(r"\n\s*\n", parsed.body):
            cleaned = paragraph_clean(text=block)
            if len(_WORD_RE.findall(cleaned)) >= MIN_PARAGRAPH_CHARS:
                paragraphs.append(cleaned)
                kept += 1
        counts.append(max(kept, 1))
    if not titles or not paragraphs:
        raise ValueError(f"{corpus_dir} 中没有可用的文章")
    return CorpusPool(
        titles=tuple(titles),
        sources=tuple(sources),
        dates=tuple(dates) or (datetime.date(2024, 1, 1),),
        paragraphs=tuple(paragraphs),
        paragraph_counts=tuple(counts),
    )


def synthetic_doc_make(*, pool: CorpusPool, pk: int, seed: int) -> SyntheticDoc:
    """Document ``pk``: the same one for the same seed, whatever was generated before.

    Each document has its own random stream, so a result's title and body can be
    rebuilt for highlighting without keeping the corpus in memory.
    """
    rng = random.Random(f"{seed}:{pk}")
    size = rng.choice(pool.paragraph_counts)
    body = "\n\n".join(rng.choice(pool.paragraphs) for _ in range(size))
    # Spread the real dates over neighbouring days so date facets are not 228 spikes.
    published = rng.choice(pool.dates) + datetime.timedelta(days=rng.randint(-45, 45))
    authors = tuple(rng.sample(AUTHOR_POOL, rng.choice((0, 1, 1, 2))))
    return SyntheticDoc(
        pk=pk,
        title=rng.choice(pool.titles),
        source=rng.choice(pool.sources),
        published=published,
        authors=authors,
        body=body,
    )


def synthetic_docs_iter(*, pool: CorpusPool, count: int, seed: int) -> Iterator[SyntheticDoc]:
    for pk in range(1, count + 1):
        yield synthetic_doc_make(pool=pool, pk=pk, seed=seed)


class _Related:
    """Stands in for a many-to-many manager: ``.all()`` over plain named values."""

    __slots__ = ("_items",)

    def __init__(self, names: tuple[str, ...]) -> None:
        self._items = [_Named(name) for name in names]

    def all(self) -> list[_Named]:
        return self._items


class _Named:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class BenchArticle:
    """Looks like an ``Article`` to the search indexes, without a database row."""

    _meta = Article._meta

    def __init__(self, doc: SyntheticDoc) -> None:
        self.pk = self.id = doc.pk
        self.title = doc.title
        self.source = _Named(doc.source)
        self.source_id = 1
        self.authors = _Related(doc.authors)
        self.tags = _Related(())
        self.policy_documents = _Related(())
        self.policy_records_official = _Related(())
        self.story_id = None
        self.published_on = doc.published
        self.summary = ""
        self.body_text = doc.body
        self.body_markdown = doc.body
        # As an article stored without its terms: the index segments the body itself, so the
        # build rate includes segmentation, as in the earlier runs it is compared with.
        self.body_terms = self.body_terms_key = ""
        self.updated_at = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
        self.status = Article.Status.PUBLISHED

    def _get_pk_val(self, meta=None) -> int:
        return self.pk
