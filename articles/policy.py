"""Policy documents as records: one per document, whatever it is called by, with what its
official text says (issuers, 文号, dates, status), linked to every article about it.

Mentions and links are derived data: ``articles_policy_sync`` recomputes an article's mentions
from its title and body (and, for a document's official text, the record's fields and the
documents it cites) every time it is ingested or re-cleaned, so it may be run any number of
times. Records themselves are curated by editors (names, aliases, merges, splits, fields
they set) and a re-sync never undoes that: an editor's field is listed in ``editor_fields``,
a split-off name in ``kept_apart``.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet

from . import policy_fields
from .models import Article, PolicyDocument, PolicyMention, PolicyName
from .parsing import ParseError, front_matter_load, front_matter_split
from .policy_refs import (
    KIND_NUMBER,
    PolicyRef,
    extract_policy_refs,
    linked_refs,
    normalise_doc_number,
    normalise_title,
)
from .policy_seed import SEEDS
from .rows import rows_update_changed
from .signals import articles_changed_send

POLICY_ARTICLES_PER_PAGE = 30
POLICY_DOCUMENTS_PER_PAGE = 50
UNDATED_LABEL = "日期不详"

# --- names ----------------------------------------------------------------------------------------


def policy_name_normalise(*, value: str) -> str:
    """An editor's spelling as the key extraction would produce: 国办发[2024] 12号 -> 国办发〔2024〕12号."""
    value = value.strip().strip("《》")
    try:
        return normalise_doc_number(value)
    except ValueError:
        return normalise_title(value)


def policy_name_key(*, value: str) -> str:
    """The lookup form of a name (``PolicyName.name``): normalised, Latin letters in lower case,
    so PIPL, pipl and Pipl are one name."""
    return policy_name_normalise(value=value).casefold()[:200]


def policy_kind_guess(*, name: str) -> str:
    try:
        normalise_doc_number(name)
    except ValueError:
        return PolicyDocument.Kind.TITLE
    return PolicyDocument.Kind.NUMBER


# A plan's period or edition after its title: 《…行动计划（2023-2025年）》 is typed without it.
_PERIOD = re.compile(r"\s*\((?:\d{4}\s*[-—–~至到]\s*\d{4}|\d{4})\s*年?版?\)$")


def policy_short_forms(*, title: str) -> list[str]:
    """The forms people type for a title: ``policy_fields.short_forms`` (no 中华人民共和国, 暂行,
    试行, 若干, quotation marks), each also without a trailing period such as (2023-2025年)."""
    forms: list[str] = []
    for form in (title, *policy_fields.short_forms(title=title)):
        for each in (form, _PERIOD.sub("", normalise_title(form))):
            if each != title and len(each) >= 2 and each not in forms:
                forms.append(each)
    return forms


def policy_document_names(*, document: PolicyDocument) -> list[str]:
    """Every name the document answers to, as written (name, title, 文号, aliases, short forms)."""
    names: list[str] = []
    for value in (document.name, document.title, document.doc_number, *(document.aliases or [])):
        value = (value or "").strip()
        if not value:
            continue
        for form in (value, *policy_short_forms(title=value)):
            if form not in names:
                names.append(form)
    return names


def policy_names_sync(*, documents: Iterable[PolicyDocument]) -> None:
    """Make ``PolicyName`` hold the documents' names: missing ones added, gone ones removed.
    A name another document holds already stays with that one (first come, first kept)."""
    documents = list(documents)
    if not documents:
        return
    wanted = {
        doc.pk: {policy_name_key(value=n) for n in policy_document_names(document=doc)} for doc in documents
    }
    held: dict[int, set[str]] = {doc.pk: set() for doc in documents}
    for name, doc_id in PolicyName.objects.filter(document_id__in=list(wanted)).values_list(
        "name", "document_id"
    ):
        held[doc_id].add(name)
    gone = [name for doc_id, names in held.items() for name in names - wanted[doc_id]]
    if gone:
        PolicyName.objects.filter(name__in=gone, document_id__in=list(wanted)).delete()
    PolicyName.objects.bulk_create(
        [
            PolicyName(name=name, document_id=doc_id)
            for doc_id, names in wanted.items()
            for name in sorted(names - held[doc_id])
            if name
        ],
        ignore_conflicts=True,
    )


def policy_document_for_name(*, value: str) -> PolicyDocument | None:
    """The record a name (a title, short title, 文号 in any brackets, alias) belongs to."""
    value = (value or "").strip()
    if not value:
        return None
    keys = [policy_name_key(value=value)]
    keys += [policy_name_key(value=form) for form in policy_short_forms(title=value)]
    found = {
        row.name: row.document for row in PolicyName.objects.filter(name__in=keys).select_related("document")
    }
    return next((found[key] for key in keys if key in found), None)


def policy_seeds_apply() -> int:
    """Create the seeded records that are missing and give every seeded record its seeded
    names; fields an editor set are left alone. Idempotent. Returns how many were created."""
    created = 0
    for seed in SEEDS:
        name = policy_name_normalise(value=seed["title"])
        document = policy_document_for_name(value=seed["title"])
        if document is None:
            document = PolicyDocument.objects.filter(name=name).first()
        if document is None:
            document = PolicyDocument(name=name, kind=PolicyDocument.Kind.TITLE)
            created += 1
        values = {
            "title": seed["title"],
            "doc_number": seed.get("doc_number", ""),
            "issuers": list(seed.get("issuers", [])),
            "category": seed.get("category", ""),
            "topic": seed.get("topic", ""),
            **{
                key: datetime.date.fromisoformat(seed[key])
                for key in ("signed_on", "published_on", "effective_on")
                if seed.get(key)
            },
        }
        changed = document.pk is None
        for key, value in values.items():
            if key not in (document.editor_fields or []) and value and not getattr(document, key):
                setattr(document, key, value)
                changed = True
        aliases = _aliases_merged(name=document.name, lists=[document.aliases or [], seed.get("aliases", [])])
        if aliases != (document.aliases or []):
            document.aliases = aliases
            changed = True
        if changed:
            # (a save re-indexes the articles mentioning the record: only when something changed)
            document.save()
            policy_names_sync(documents=[document])
    return created


# --- reading an article ---------------------------------------------------------------------------


@dataclass
class _ArticlePolicy:
    """What one article says about policy documents."""

    article: Article
    refs: list[PolicyRef]  # mentioned, in reading order
    groups: list[list[str]]  # names the text says are one document
    official: policy_fields.OfficialText | None  # the article is this document's official text
    official_names: list[str] = field(default_factory=list)


def _front_matter(*, raw_text: str) -> dict[str, str]:
    try:
        head, _body = front_matter_split(text=raw_text or "")
    except ParseError:
        return {}
    fields, _fallback = front_matter_load(raw=head)
    return {key: "" if value is None else str(value) for key, value in fields.items()}


def _article_read(*, article: Article) -> _ArticlePolicy:
    text = f"{article.title}\n{article.body_text}"
    refs = extract_policy_refs(text=text)
    groups = [[title, number] for title, number in linked_refs(text=text)]
    # The front matter (its doc_number and source) is read again only for a file that may be
    # an official text: one with a number, or whose text opens with an official title.
    head = (article.raw_text or "")[:2000]
    maybe = "doc_number" in head or policy_fields.official_title(
        title=article.title, body_text=article.body_text[:3000]
    )
    official = policy_fields.official_text_read(
        front=_front_matter(raw_text=article.raw_text) if maybe else {},
        title=article.title,
        body_text=article.body_text,
        published_on=article.published_on,
    )
    read = _ArticlePolicy(article=article, refs=refs, groups=groups, official=official)
    if official is not None:
        own = [official.title, official.doc_number, *official.issued]
        names = list(dict.fromkeys(policy_name_normalise(value=n) for n in own if n))
        read.official_names = names
        if names:
            groups.append(names)
            # its own names are mentions too (a title without 《》 is not found by the extractor)
            known = {ref.text for ref in refs}
            for name in names:
                if name not in known:
                    kind = (
                        KIND_NUMBER if policy_kind_guess(name=name) == PolicyDocument.Kind.NUMBER else "title"
                    )
                    refs.append(PolicyRef(kind=kind, text=name, raw=name))
    return read


# --- resolving names to records -------------------------------------------------------------------


def _kept_apart(a: PolicyDocument, b: PolicyDocument) -> bool:
    """An editor split these apart: one lists a name of the other."""
    a_names = {policy_name_key(value=n) for n in policy_document_names(document=a)}
    b_names = {policy_name_key(value=n) for n in policy_document_names(document=b)}
    return bool(
        {policy_name_key(value=n) for n in a.kept_apart or []} & b_names
        or {policy_name_key(value=n) for n in b.kept_apart or []} & a_names
    )


def _records_resolve(*, reads: Sequence[_ArticlePolicy]) -> dict[str, PolicyDocument]:
    """Each mentioned name's record (by its lookup key): found by any of its names, joined
    with the records of names the text links to it, created when new."""
    names: dict[str, str] = {}  # key → name as written (normalised)
    kinds: dict[str, str] = {}
    for read in reads:
        for ref in read.refs:
            key = policy_name_key(value=ref.text)
            names.setdefault(key, ref.text)
            kinds.setdefault(
                key, PolicyDocument.Kind.NUMBER if ref.kind == KIND_NUMBER else PolicyDocument.Kind.TITLE
            )
        for group in read.groups:
            for name in group:
                names.setdefault(policy_name_key(value=name), name)
    if not names:
        return {}
    # One object per record (a record found by two of its names is one object), so what is
    # changed in memory is seen by every name of it.
    records_by_id: dict[int, PolicyDocument] = {}
    found: dict[str, PolicyDocument] = {
        row.name: records_by_id.setdefault(row.document.pk, row.document)
        for row in PolicyName.objects.filter(name__in=list(names)).select_related("document")
    }
    missing = [key for key in names if key not in found]
    if missing and _new_names_lock(keys=missing):
        # (what another worker created while this one waited for its locks)
        for row in PolicyName.objects.filter(name__in=missing).select_related("document"):
            found[row.name] = records_by_id.setdefault(row.document.pk, row.document)
    # Records whose names change; their PolicyName rows are brought in step at the end (a
    # record merged away meanwhile is gone by then and skipped).
    touched: set[int] = set()
    # Fields changed in memory, written together (one statement per set of fields, not one
    # per name: a batch of new policy texts gave a record a name several hundred times),
    # before a merge, which reads its records afresh from the database, and at the end.
    unwritten: dict[int, set[str]] = {}

    def unwritten_write() -> None:
        rows_update_changed(changed=[(records_by_id[pk], fields) for pk, fields in unwritten.items()])
        unwritten.clear()

    def name_add(document: PolicyDocument, key: str) -> None:
        found[key] = document
        document.aliases = _aliases_merged(name=document.name, lists=[document.aliases or [], [names[key]]])
        unwritten.setdefault(document.pk, set()).add("aliases")
        touched.add(document.pk)

    def new_record(key: str) -> tuple[str, str]:  # (name, kind) of a record to create
        return names[key], kinds.get(key, PolicyDocument.Kind.TITLE)

    group_keys = [
        list(dict.fromkeys(policy_name_key(value=n) for n in group))
        for read in reads
        for group in read.groups
    ]
    # Every name of a group is known once the group is done (found, or added to its keeper),
    # so the groups that start a record are known before any is done: their records are
    # created together, in the order the groups come.
    known = set(found)
    starters: list[int] = []
    for at, keys in enumerate(group_keys):
        if known.isdisjoint(keys):
            starters.append(at)
        known.update(keys)
    created = _records_create(wanted=[new_record(group_keys[at][0]) for at in starters])
    started = dict(zip(starters, created, strict=True))
    for at, keys in enumerate(group_keys):
        records = list({found[k].pk: found[k] for k in keys if k in found}.values())
        keeper = _keeper_pick(records=records)
        if keeper is None:
            keeper = records_by_id.setdefault(started[at].pk, started[at])
            touched.add(keeper.pk)
        for other in records:
            if other.pk != keeper.pk and not _kept_apart(keeper, other):
                unwritten_write()
                keeper = policy_documents_merge(target_id=keeper.pk, other_ids=[other.pk])
                records_by_id.pop(other.pk, None)
                records_by_id[keeper.pk] = keeper
                for key, doc in list(found.items()):
                    if doc.pk in (other.pk, keeper.pk):
                        found[key] = keeper
        # the text names the document by its number too: the record shows it as its 文号
        number = next(
            (
                names[k]
                for k in keys
                if kinds.get(k) == PolicyDocument.Kind.NUMBER and found.get(k, keeper).pk == keeper.pk
            ),
            "",
        )
        if number and not keeper.doc_number and "doc_number" not in (keeper.editor_fields or []):
            keeper.doc_number = number
            unwritten.setdefault(keeper.pk, set()).add("doc_number")
        for key in keys:
            if key not in found:
                name_add(keeper, key)
    rest = [key for key in names if key not in found]
    for key, record in zip(rest, _records_create(wanted=[new_record(key) for key in rest]), strict=True):
        found[key] = records_by_id.setdefault(record.pk, record)
        touched.add(record.pk)
    unwritten_write()
    policy_names_sync(documents=PolicyDocument.objects.filter(pk__in=touched))
    return found


# The advisory lock space of new policy names (``pg_advisory_xact_lock(space, key)``; the
# story lock of ``reposts`` is a single-key lock, in a space of its own), and how many keys
# the names share: a batch naming thousands of new documents holds at most this many locks
# (names that share a key only wait for each other).
_NEW_NAMES_LOCK_SPACE = 0x5E90
_NEW_NAMES_LOCK_KEYS = 1024


def _new_names_lock(*, keys: Iterable[str]) -> bool:
    """Lock names about to be created as records or aliases until the transaction ends, in
    one order for every worker (PostgreSQL; False on another database, whose writers wait
    for each other anyway).

    Two ingest workers creating the same new names in different orders each waited for the
    other's uncommitted row: a deadlock, which PostgreSQL breaks after a second by failing
    one batch, then written file by file (at 2,285 files, four runs in six had one once the
    batches' new sources no longer held the workers back at the start). Locked in the order
    of their lock keys first, the second worker waits for the first to commit, then reads
    what it created."""
    if connection.vendor != "postgresql":
        return False
    locks = sorted(
        {
            int.from_bytes(hashlib.sha1(key.encode()).digest()[:4], "big") % _NEW_NAMES_LOCK_KEYS
            for key in keys
        }
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, k) FROM unnest(%s::int[]) WITH ORDINALITY AS t(k, i)"
            " ORDER BY i",
            [_NEW_NAMES_LOCK_SPACE, locks],
        )
    return True


def _keeper_pick(*, records: list[PolicyDocument]) -> PolicyDocument | None:
    """Of records to be joined, the one the others fold into: the one with an official text,
    else the oldest."""
    if not records:
        return None
    return min(records, key=lambda doc: (doc.official_article_id is None, doc.pk))


def _records_create(*, wanted: Sequence[tuple[str, str]]) -> list[PolicyDocument]:
    """The records of these (name, kind), in order: one insert and one read for all (a
    statement each per record was a tenth of an ingest worker's time). A name another worker
    created meanwhile is kept as theirs; two names cut to the same 200 characters are one."""
    if not wanted:
        return []
    cut = [name[:200] for name, _kind in wanted]
    PolicyDocument.objects.bulk_create(
        [PolicyDocument(name=name[:200], kind=kind) for name, kind in wanted], ignore_conflicts=True
    )
    by_name = {doc.name: doc for doc in PolicyDocument.objects.filter(name__in=set(cut))}
    return [by_name[name] for name in cut]


# --- mentions and official texts ------------------------------------------------------------------


# The library's 主题分类: the first topic whose words the title has (an editor may set another).
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("个人信息保护", ("个人信息",)),
    ("数据跨境", ("出境", "跨境")),
    ("数据安全", ("数据安全",)),
    ("网络安全", ("网络安全", "信息安全", "等级保护", "关键信息基础设施", "密码")),
    ("人工智能", ("人工智能", "算法", "深度合成", "生成式", "智能网联", "自动驾驶")),
    ("数据要素", ("数据要素", "公共数据", "数据资源", "数据基础制度", "大数据")),
    ("信息通信", ("5G", "通信", "互联网", "算力", "数据中心", "电信", "无线电", "卫星")),
    ("数字经济", ("数字经济", "数字化", "数字中国", "电子商务", "软件", "信息技术")),
    ("绿色低碳", ("绿色", "低碳", "碳达峰", "节能", "能效", "碳中和", "节水", "资源综合利用")),
    ("中小企业", ("中小企业", "专精特新", "小巨人")),
    ("装备制造", ("装备", "机器人", "汽车", "船舶", "航空", "仪器仪表", "集成电路", "电子")),
    ("原材料", ("原材料", "钢铁", "石化", "化工", "有色金属", "建材", "稀土")),
    ("消费品", ("消费品", "纺织", "服装", "食品", "医药", "家电", "轻工")),
    ("安全生产与应急", ("安全生产", "应急", "民爆")),
    ("工业", ("工业", "制造业", "产业")),
)


def policy_topic_from_title(*, title: str) -> str:
    return next((topic for topic, words in TOPICS if any(word in title for word in words)), "")


def _seeded_record(*, document: PolicyDocument) -> bool:
    return policy_name_key(value=document.title or document.name) in _seeded_keys()


@functools.cache
def _seeded_keys() -> frozenset[str]:
    return frozenset(policy_name_key(value=seed["title"]) for seed in SEEDS)


# What an official text says about its document: each field with its empty value, as the
# model stores it (the fields an editor may set and a re-reading then leaves alone).
_EMPTY: dict[str, object] = {
    "title": "",
    "doc_number": "",
    "issuers": [],
    "category": "",
    "signed_on": None,
    "published_on": None,
    "effective_on": None,
    "expires_on": None,
    "topic": "",
}
OFFICIAL_FIELDS = tuple(_EMPTY)


def _officials_apply(*, reads: Sequence[_ArticlePolicy], found: dict[str, PolicyDocument]) -> None:
    """The records of the official texts among ``reads`` take what their text says (not the
    fields an editor set), link to the text as 原文, cite what the text names, and mark what
    the text repeals or amends.

    Written together: one update per set of changed fields, one sync of the names, one
    read and one insert of the citations (a statement or five per official text were a
    tenth of an ingest worker's time). Read in order, as one by one: a record whose official
    text came first in the batch keeps it, and what the last reading of a record says
    stands."""
    changed_fields: dict[int, set[str]] = {}
    documents: dict[int, PolicyDocument] = {}
    cites: dict[int, set[int]] = {}
    applied: list[tuple[policy_fields.OfficialText, PolicyDocument]] = []  # (a text, its record)
    for read in reads:
        official = read.official
        if official is None or not read.official_names:
            continue
        document = found[policy_name_key(value=read.official_names[0])]
        article = read.article
        if document.official_article_id not in (None, article.pk):
            # another copy of the text came first (a repost of the full text): it stays the 原文
            continue
        values = {
            "title": official.title,
            "doc_number": official.doc_number,
            "issuers": list(official.issuers),
            "category": official.category,
            "signed_on": official.signed_on,
            "published_on": official.published_on,
            "effective_on": official.effective_on,
            "expires_on": official.expires_on,
            "topic": policy_topic_from_title(title=official.title or article.title),
        }
        # What the text says replaces what an earlier reading said, silence included (a rule
        # that was wrong must not leave its answer behind); a seeded record keeps its seeded
        # facts where the text is silent.
        seeded = _seeded_record(document=document)
        values = {key: value or _EMPTY[key] for key, value in values.items()}
        changed = {
            key: value
            for key, value in values.items()
            if key not in (document.editor_fields or [])
            and (value or not seeded)
            and getattr(document, key) != value
        }
        if document.official_article_id != article.pk:
            changed["official_article"] = article
        for key, value in changed.items():
            setattr(document, key, value)
        documents[document.pk] = document
        applied.append((official, document))
        changed_fields.setdefault(document.pk, set()).update(changed)
        own = {policy_name_key(value=n) for n in read.official_names}
        cites[document.pk] = {
            found[policy_name_key(value=ref.text)].pk
            for ref in read.refs
            if policy_name_key(value=ref.text) not in own
        } - {document.pk}
    if not documents:
        return
    rows_update_changed(changed=[(documents[pk], fields) for pk, fields in changed_fields.items()])
    policy_names_sync(
        documents=[documents[pk] for pk, fields in changed_fields.items() if {"title", "doc_number"} & fields]
    )
    _cites_set(cites=cites)
    for official, document in applied:
        for keys, status in (
            (official.repealed, PolicyDocument.Status.REPEALED),
            (official.amended, PolicyDocument.Status.AMENDED),
        ):
            for name in keys:
                target = found.get(policy_name_key(value=name)) or policy_document_for_name(value=name)
                if target is None or target.pk == document.pk or "status" in (target.editor_fields or []):
                    continue
                PolicyDocument.objects.filter(pk=target.pk).update(status=status)
    # (bulk writes send no post_save: every article mentioning a changed record carries its
    # name and fields in the index)
    changed_ids = [pk for pk, fields in changed_fields.items() if fields]
    if changed_ids:
        articles_changed_send(
            ids=PolicyMention.objects.filter(document_id__in=changed_ids).values_list("article_id", flat=True)
        )


def _cites_set(*, cites: dict[int, set[int]]) -> None:
    """Each record (by id) cites exactly these records: what it no longer cites is removed,
    what is new added, in one statement each for all."""
    through = PolicyDocument.cites.through
    held: dict[int, set[int]] = {pk: set() for pk in cites}
    for source, target in through.objects.filter(from_policydocument_id__in=list(cites)).values_list(
        "from_policydocument_id", "to_policydocument_id"
    ):
        held[source].add(target)
    gone = Q()
    for source, targets in held.items():
        if targets - cites[source]:
            gone |= Q(from_policydocument_id=source, to_policydocument_id__in=sorted(targets - cites[source]))
    if gone:
        through.objects.filter(gone).delete()
    through.objects.bulk_create(
        [
            through(from_policydocument_id=source, to_policydocument_id=target)
            for source, targets in cites.items()
            for target in sorted(targets - held[source])
        ],
        ignore_conflicts=True,
    )


# What one article says about policy documents (``article_policy_read``), for the caller to
# hand back to ``articles_policy_mentions_create``.
PolicyRead = _ArticlePolicy


def article_policy_read(*, article: Article) -> PolicyRead:
    """Read an article for policy documents (no database access: an unsaved article will do,
    the reading can be done before a transaction opens)."""
    return _article_read(article=article)


def articles_policy_sync(
    *, articles: Sequence[Article] = (), fresh: bool = False, reads: Sequence[PolicyRead] | None = None
) -> None:
    """Recompute the articles' mentions (and the records of the official texts among them):
    one lookup of the names for all, one insert of the new mentions. ``fresh``: the articles
    were just created and have no mentions yet to compare with. ``reads``: the articles'
    ``article_policy_read``, made beforehand (their articles saved since), instead of
    ``articles``."""
    if reads is None:
        reads = [_article_read(article=article) for article in articles]
    found = _records_resolve(reads=reads)
    _officials_apply(reads=reads, found=found)
    added: list[PolicyMention] = []
    changed_ids: list[int] = []
    for read in reads:
        wanted: dict[int, str] = {}
        for ref in read.refs:
            # A title and an alias can point at one document; the first spelling read wins.
            wanted.setdefault(found[policy_name_key(value=ref.text)].pk, ref.raw[:200])
        if fresh:
            added.extend(PolicyMention(article=read.article, document_id=d, raw=r) for d, r in wanted.items())
            continue
        existing = {m.document_id: m for m in PolicyMention.objects.filter(article=read.article)}
        stale = [m.id for doc_id, m in existing.items() if doc_id not in wanted]
        if stale:
            PolicyMention.objects.filter(id__in=stale).delete()
        for doc_id, raw in wanted.items():
            mention = existing.get(doc_id)
            if mention is None:
                added.append(PolicyMention(article=read.article, document_id=doc_id, raw=raw))
            elif mention.raw != raw:
                mention.raw = raw
                mention.save(update_fields=["raw"])
        if stale or any(doc_id not in existing for doc_id in wanted):
            changed_ids.append(read.article.pk)
    if added:
        PolicyMention.objects.bulk_create(added, ignore_conflicts=True)
    if changed_ids:
        # bulk writes send no post_save: the index hears of it here
        articles_changed_send(ids=changed_ids)


def article_policy_mentions_sync(*, article: Article) -> list[PolicyMention]:
    """Replace the article's mentions with those found in its title and body, in reading order."""
    articles_policy_sync(articles=[article])
    return list(PolicyMention.objects.filter(article=article).order_by("id"))


def articles_policy_mentions_create(*, reads: Sequence[PolicyRead]) -> None:
    """The mentions of articles that have none yet (just created, read with
    ``article_policy_read``); the caller tells the index."""
    articles_policy_sync(reads=reads, fresh=True)


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
    """Fold other documents into the target: their mentions and names move over, their names
    become aliases, fields the target lacks are taken from them. The articles whose mentions
    changed are re-indexed (their 提及文件 facet names the target now)."""
    target = PolicyDocument.objects.select_for_update().get(pk=target_id)
    others = list(
        PolicyDocument.objects.select_for_update().filter(pk__in=list(other_ids)).exclude(pk=target.pk)
    )
    if not others:
        return target
    other_pks = [doc.pk for doc in others]
    affected = set(
        PolicyMention.objects.filter(document_id__in=other_pks).values_list("article_id", flat=True)
    )
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
    PolicyName.objects.filter(document_id__in=other_pks).update(document=target)
    target.aliases = _aliases_merged(
        name=target.name,
        lists=[target.aliases or [], *([doc.name, doc.title, *(doc.aliases or [])] for doc in others)],
    )
    for doc in others:
        for key in (*OFFICIAL_FIELDS, "status", "official_article_id"):
            if not getattr(target, key) and getattr(doc, key):
                setattr(target, key, getattr(doc, key))
        target.kept_apart = _aliases_merged(name="", lists=[target.kept_apart or [], doc.kept_apart or []])
        target.editor_fields = sorted({*(target.editor_fields or []), *(doc.editor_fields or [])})
    target.save()
    cites = set(
        PolicyDocument.cites.through.objects.filter(
            from_policydocument_id__in=[target.pk, *other_pks]
        ).values_list("to_policydocument_id", flat=True)
    )
    cited_by = set(
        PolicyDocument.cites.through.objects.filter(to_policydocument_id__in=other_pks).values_list(
            "from_policydocument_id", flat=True
        )
    )
    # Deleting cascades to the duplicate mentions that were not moved, and the others' links.
    PolicyDocument.objects.filter(pk__in=other_pks).delete()
    target.cites.set(cites - {target.pk, *other_pks})
    for citing in PolicyDocument.objects.filter(pk__in=cited_by - {target.pk}):
        citing.cites.add(target)
    policy_names_sync(documents=[target])
    if affected:
        articles_changed_send(ids=sorted(affected))
    return target


@transaction.atomic
def policy_document_split(*, document_id: int, names: Iterable[str]) -> list[PolicyDocument]:
    """Split names off a record, each into a record of its own, and keep them apart: the
    articles that mention the record are read again (the split names now find their own
    records) and automatic linking never joins them back. Returns the new records."""
    document = PolicyDocument.objects.select_for_update().get(pk=document_id)
    wanted = [policy_name_normalise(value=n) for n in names if n.strip()]
    wanted = [n for n in dict.fromkeys(wanted) if n and n != document.name]
    if not wanted:
        return []
    keys = {policy_name_key(value=n) for n in wanted}
    document.aliases = [a for a in document.aliases or [] if policy_name_key(value=a) not in keys]
    if policy_name_key(value=document.title) in keys:
        document.title = ""
    if policy_name_key(value=document.doc_number) in keys:
        document.doc_number = ""
    document.kept_apart = _aliases_merged(name="", lists=[document.kept_apart or [], wanted])
    document.save()
    PolicyName.objects.filter(document=document, name__in=keys).delete()
    created = []
    for name in wanted:
        new = PolicyDocument.objects.filter(name=name).first() or PolicyDocument.objects.create(
            name=name, kind=policy_kind_guess(name=name)
        )
        new.kept_apart = _aliases_merged(name="", lists=[new.kept_apart or [], [document.name]])
        new.save(update_fields=["kept_apart"])
        PolicyName.objects.filter(name=policy_name_key(value=name)).delete()
        created.append(new)
    policy_names_sync(documents=[document, *created])
    articles = list(
        Article.objects.filter(policy_mentions__document=document).only(
            "id", "title", "body_text", "raw_text", "published_on"
        )
    )
    if articles:
        articles_policy_sync(articles=articles)
        articles_changed_send(ids=[a.pk for a in articles])
    return created


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
        .exclude(pk=document.official_article_id or 0)
        .select_related("source")
        .prefetch_related("authors")
        .defer("raw_text", "body_markdown", "body_text", "minhash")
        .order_by(F("published_on").desc(nulls_last=True), "-id")
    )
    return Paginator(articles, POLICY_ARTICLES_PER_PAGE).get_page(page)


# --- the library ------------------------------------------------------------------------------------

LIBRARY_SORTS = {"discussed": "讨论最多", "newest": "最新发布", "oldest": "最早发布"}
# The library's facets: name → label, in page order.
LIBRARY_FACETS = {
    "issuer": "发文机关",
    "category": "文件类型",
    "year": "年份",
    "status": "时效性",
    "topic": "主题分类",
}


@dataclass(frozen=True)
class PolicyLibraryParams:
    q: str = ""
    issuer: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    year: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    sort: str = "discussed"
    page: object = 1


@dataclass
class PolicyLibraryPage:
    page: Page
    # facet name → [(value, count, selected)], most first (years newest first)
    facets: dict[str, list[tuple[str, int, bool]]]
    # the record the query names (a title, short title, 文号 in any brackets, alias): listed first
    match: PolicyDocument | None


@dataclass(frozen=True)
class _LibraryRow:
    id: int
    values: dict[str, tuple[str, ...]]  # facet name → the record's values
    discussed: int
    date: datetime.date | None


def _library_rows(*, q: str, match: PolicyDocument | None, today: datetime.date) -> list[_LibraryRow]:
    # Records an article mentions, with an official text, or known before any article (seeded).
    qs = PolicyDocument.objects.annotate(article_count=_published_mentions_count()).filter(
        Q(article_count__gt=0) | Q(official_article__isnull=False) | ~Q(title="")
    )
    if q:
        key = policy_name_key(value=q)
        named = PolicyName.objects.filter(name__contains=key).values("document_id")
        condition = (
            Q(name__icontains=q) | Q(title__icontains=q) | Q(doc_number__icontains=q) | Q(id__in=named)
        )
        if match is not None:
            condition |= Q(id=match.pk)
        qs = qs.filter(condition)
    rows = []
    for values in qs.values("id", *OFFICIAL_FIELDS, "status", "article_count"):
        day = values["signed_on"] or values["published_on"]
        shown = PolicyDocument(
            status=values["status"], effective_on=values["effective_on"], expires_on=values["expires_on"]
        ).status_shown(today=today)
        rows.append(
            _LibraryRow(
                id=values["id"],
                values={
                    "issuer": tuple(values["issuers"] or ()),
                    "category": (values["category"],) if values["category"] else (),
                    "year": (f"{day.year:04d}",) if day else (),
                    "status": (shown,) if shown else (),
                    "topic": (values["topic"],) if values["topic"] else (),
                },
                discussed=values["article_count"],
                date=day,
            )
        )
    return rows


def policy_library_search(
    *, params: PolicyLibraryParams, today: datetime.date | None = None
) -> PolicyLibraryPage:
    """The policy library: records matching the query and the facet selections (OR within a
    facet, AND across; each facet counted with the other facets' selections), sorted by how
    much they are discussed or by date, the record the query names first."""
    today = today or datetime.date.today()
    q = params.q.strip()
    match = policy_document_for_name(value=q) if q else None
    rows = _library_rows(q=q, match=match, today=today)
    selected = {name: set(getattr(params, name)) for name in LIBRARY_FACETS}

    def passes(row: _LibraryRow, *, skip: str = "") -> bool:
        return all(
            not chosen or chosen & set(row.values[name]) for name, chosen in selected.items() if name != skip
        )

    facets: dict[str, list[tuple[str, int, bool]]] = {}
    for name in LIBRARY_FACETS:
        counts: dict[str, int] = {}
        for row in rows:
            if passes(row, skip=name):
                for value in row.values[name]:
                    counts[value] = counts.get(value, 0) + 1
        for value in selected[name] - set(counts):
            counts[value] = 0  # a selection that matches nothing still shows, to be removed
        if name == "year":
            ordered = sorted(counts.items(), key=lambda item: item[0], reverse=True)
        else:
            ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        facets[name] = [(value, count, value in selected[name]) for value, count in ordered]
    chosen = [row for row in rows if passes(row)]
    undated = datetime.date.min
    if params.sort == "newest":
        chosen.sort(key=lambda row: (row.date or undated, row.discussed, row.id), reverse=True)
    elif params.sort == "oldest":
        chosen.sort(key=lambda row: (row.date is None, row.date or undated, row.id))
    else:
        chosen.sort(key=lambda row: (-row.discussed, -(row.date or undated).toordinal(), row.id))
    if match is not None and any(row.id == match.pk for row in chosen):
        chosen.sort(key=lambda row: row.id != match.pk)  # stable: the rest keep their order
    paginator = Paginator([row.id for row in chosen], POLICY_DOCUMENTS_PER_PAGE)
    try:
        page = paginator.page(params.page)
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        # past the end: an empty page (a client paging until empty stops), not the last one again
        page = Page([], int(params.page) if str(params.page).isdigit() else 1, paginator)
    documents = {
        doc.pk: doc
        for doc in PolicyDocument.objects.filter(pk__in=list(page.object_list))
        .annotate(article_count=_published_mentions_count())
        .select_related("official_article")
    }
    page.object_list = [documents[pk] for pk in page.object_list if pk in documents]
    return PolicyLibraryPage(page=page, facets=facets, match=match)


_INTERPRETATION = ("解读", "答记者问", "问答", "读懂", "一图看懂", "权威发布会")


def article_policy_role(*, title: str) -> str:
    """How an article other than the official text relates to the document: 解读 or 报道."""
    return "解读" if any(word in title for word in _INTERPRETATION) else "报道"


def policy_official_texts(*, article_ids: list[int]) -> set[int]:
    """Which of these articles are the official text of a document (on another document's
    timeline they are documents citing it, not news)."""
    if not article_ids:
        return set()
    return set(
        PolicyDocument.objects.filter(official_article_id__in=article_ids).values_list(
            "official_article_id", flat=True
        )
    )


def policy_aliases_shown(*, document: PolicyDocument) -> list[str]:
    """The record's other names for a reader: not its title, name or 文号 again."""
    own = {policy_name_key(value=v) for v in (document.name, document.title, document.doc_number) if v}
    return [alias for alias in document.aliases or [] if policy_name_key(value=alias) not in own]


def policy_document_detail(*, document: PolicyDocument) -> dict[str, object]:
    """What a record's page shows beside its timeline: its 原文 and the documents it cites and
    is cited by (by their official texts' 《》 mentions)."""
    official = document.official_article
    if official is not None and not official.is_published:
        official = None
    return {
        "official": official,
        "cites": list(document.cites.order_by("name")),
        "cited_by": list(document.cited_by.order_by("name")),
        "status": document.status_shown(),
    }


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
