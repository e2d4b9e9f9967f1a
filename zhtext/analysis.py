"""Chinese text analysis shared by indexing, querying and highlighting.

Everything that turns text into search tokens lives here so the index and the
query side can never drift apart:

* ``text_normalise`` — traditional→simplified (OpenCC t2s; tw2sp/hk2s wording for
  traditional runs, see ``script_simplify``), NFKC (full-width →
  half-width), lowercase and one form for the brackets of document numbers
  (〔〕[]【】() → 〔〕). It keeps a map from every normalised character back to the
  original text so highlights land on the characters the reader sees.
* ``pieces_words``/``text_words`` — precise tokens: jieba (with the policy-term user
  dictionary) for Chinese runs, whole tokens for CVE ids, versions, ``5g`` and document
  numbers such as ``〔2024〕1号``. Positions are consecutive integers, so phrases work.

jieba is set up once per process, lazily, with its cache file under
``settings.JIEBA_CACHE_DIR``. User words from the admin (``DictionaryTerm``) and the
synonym groups are reloaded whenever the dictionary version in the database
changes; each process checks that version at most every few seconds.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib.metadata
import logging
import math
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .models import DictionaryState, DictionaryTerm, Synonym

logger = logging.getLogger(__name__)

# How often (seconds) a process asks the database whether the dictionary changed.
DICTIONARY_CHECK_INTERVAL = 3.0

_BRACKET_MAP = {"[": "〔", "]": "〕", "【": "〔", "】": "〕", "(": "〔", ")": "〕"}
_BRACKETS = str.maketrans(_BRACKET_MAP)


def brackets_unify(text: str) -> str:
    """``text.translate(_BRACKETS)``, as six scans of the string in C: ``translate`` looks
    every character of a Chinese text up in its table, a third of normalising an article.
    (No replacement is replaced again: 〔 and 〕 are not in the table.)"""
    for old, new in _BRACKET_MAP.items():
        text = text.replace(old, new)
    return text


_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ALNUM = rf"[^\W_{_CJK}]"
# Order matters: document numbers and compound Latin tokens win over plain runs.
_TOKEN_RE = re.compile(
    rf"(?P<docnum>〔\d{{4}}〕\d+号)"
    rf"|(?P<cjk>[{_CJK}]+)"
    rf"|(?P<alnum>{_ALNUM}+(?:[-_./+]{_ALNUM}+)*)"
)
_ALNUM_PART_RE = re.compile(rf"{_ALNUM}+")
_CJK_RUN_RE = re.compile(rf"[{_CJK}]+")

_lock = threading.RLock()
_opencc = None
_jieba_instance = None
_loaded_version: int | None = None
_last_check = 0.0
_db_words: set[str] = set()
_synonyms: dict[str, tuple[str, ...]] = {}

try:  # built by ``make native`` (scripts/build_native.py); the Python version otherwise
    from ._cut import cut_ends as _native_cut
    from ._cut import lexicon as _native_lexicon
except ImportError:  # pragma: no cover - depends on the build
    _native_cut = _native_lexicon = None
# Bumped whenever the dictionary's words change (``dictionary_refresh``): a lexicon snapshot
# (``segmenter_lexicon_build``) made for an older version is made again before it is used.
_words_version = 0
_lexicon: tuple[object, int] | None = None


# --- normalisation -----------------------------------------------------------------


def _converters():
    """(t2s, tw2sp, hk2s) OpenCC converters, made once per process."""
    global _opencc
    if _opencc is None:
        import opencc  # with the converters it builds: paid once, by processes that convert

        _opencc = (
            opencc.OpenCC("t2s"),
            opencc.OpenCC("tw2sp"),
            opencc.OpenCC("hk2s"),
            opencc.OpenCC("s2t"),
        )
    return _opencc


def script_simplify(text: str, *, with_offsets: bool = True) -> tuple[str, list[int] | None]:
    """Traditional → simplified, with Taiwan/Hong Kong wording where the text is traditional.

    Only runs of CJK characters that contain a traditional character go through the
    phrase-aware configs (tw2sp, then hk2s for what is left): 勒索軟體 → 勒索软件,
    記憶體 → 内存. Applying tw2sp to simplified text would rewrite mainland words
    (文件 → 文档, 程序 → 进程), so simplified runs are left exactly as they are.

    Returns the text and, when a phrase rule changed the length, a map from each output
    character to its index in ``text`` (plus ``len(text)``); ``None`` means one for one.
    """
    t2s = _converters()[0]
    if t2s.convert(text) == text:
        return text, None  # nearly all text: nothing traditional in it
    parts: list[str] = []
    offsets: list[int] = []
    if not with_offsets:
        # indexing only needs the text
        cursor = 0
        for match in _traditional_runs(text):
            run = match.group()
            parts.append(text[cursor : match.start()])
            parts.append(_phrase_convert(run) if t2s.convert(run) != run else run)
            cursor = match.end()
        parts.append(text[cursor:])
        return "".join(parts), None
    cursor = 0
    for match in _traditional_runs(text):
        start, end = match.span()
        run = match.group()
        if start > cursor:
            parts.append(text[cursor:start])
            offsets.extend(range(cursor, start))
        plain = t2s.convert(run)
        converted = _phrase_convert(run) if plain != run else run
        parts.append(converted)
        if len(converted) == len(run):
            offsets.extend(range(start, end))
        else:
            offsets.extend(start + i for i in _run_offsets(plain=plain, converted=converted, size=len(run)))
        cursor = end
    if cursor < len(text):
        parts.append(text[cursor:])
        offsets.extend(range(cursor, len(text)))
    out = "".join(parts)
    if len(out) == len(text) and all(o == i for i, o in enumerate(offsets)):
        return out, None
    offsets.append(len(text))
    return out, offsets


def _phrase_convert(run: str) -> str:
    _t2s, tw2sp, hk2s, _s2t = _converters()
    return hk2s.convert(tw2sp.convert(run))


def _traditional_runs(text: str) -> Iterator[re.Match]:
    """Stretches of CJK text that may be traditional: CJK runs cut at simplified-only
    characters (与, 这), so a simplified word next to a traditional one keeps its wording."""
    t2s, _tw2sp, _hk2s, s2t = _converters()
    for match in _CJK_RUN_RE.finditer(text):
        run = match.group()
        if t2s.convert(run) == run:
            yield match
            continue
        start = 0
        to_trad, to_simp = s2t.convert(run), t2s.convert(run)
        if len(to_trad) == len(run) == len(to_simp):
            # one call per run; both are character for character here
            simplified_only = [a != c and b == c for a, b, c in zip(to_trad, to_simp, run, strict=True)]
        else:
            simplified_only = [s2t.convert(ch) != ch and t2s.convert(ch) == ch for ch in run]
        for i, flag in enumerate(simplified_only):
            if flag:
                if i > start:
                    yield _CJK_RUN_RE.match(text, match.start() + start, match.start() + i)
                start = i + 1
        if start < len(run):
            yield _CJK_RUN_RE.match(text, match.start() + start, match.end())


def _run_offsets(*, plain: str, converted: str, size: int) -> list[int]:
    """Offsets into a run of ``size`` characters for each character of ``converted``.

    A phrase rule changed the length (記憶體 → 内存): characters the character-for-
    character ``plain`` conversion agrees on keep their places, each changed stretch is
    spread over the original stretch it replaced.
    """
    n = len(converted)
    if len(plain) != size:
        return [(i * size) // n for i in range(n)]
    out: list[int] = []
    matcher = difflib.SequenceMatcher(None, plain, converted, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(range(i1, i2))
        elif j2 > j1:
            span = max(i2 - i1, 1)
            out.extend(min(i1 + (k * span) // (j2 - j1), max(i2 - 1, i1)) for k in range(j2 - j1))
    return out


def text_normalise(text: str) -> tuple[str, list[int]]:
    """Return the normalised text and, for each of its characters, the index in ``text``.

    The map has one extra entry (``len(text)``) so an end offset can be mapped too.
    """
    converted, script_map = script_simplify(text)
    fast = unicodedata.normalize("NFKC", converted).lower()
    if len(fast) == len(converted):
        # Fast path (nearly all text): whole-string NFKC and lowercasing keep the
        # length, so every character stays where it was.
        norm = brackets_unify(fast)
        offsets = list(range(len(converted) + 1))
    else:
        out: list[str] = []
        offsets = []
        for index, ch in enumerate(converted):
            piece = ch.lower() if ch.isascii() else unicodedata.normalize("NFKC", ch).lower()
            for part in piece.translate(_BRACKETS):
                out.append(part)
                offsets.append(index)
        offsets.append(len(converted))
        norm = "".join(out)
    if script_map is not None:
        offsets = [script_map[o] for o in offsets]
    return norm, offsets


def text_normalise_plain(text: str) -> str:
    return _normalise_fast(text)


def _normalise_fast(text: str) -> str:
    """``text_normalise(text)[0]`` without building the offset map when lengths agree."""
    converted, _ = script_simplify(text, with_offsets=False)
    fast = unicodedata.normalize("NFKC", converted).lower()
    if len(fast) == len(converted):
        return brackets_unify(fast)
    return text_normalise(text)[0]


# --- jieba --------------------------------------------------------------------------


def _jieba():
    global _jieba_instance
    if _jieba_instance is None:
        with _lock:
            if _jieba_instance is None:
                _jieba_instance = _jieba_create()
    return _jieba_instance


def _jieba_create():
    import jieba  # on first use: 0.2 s at import for processes that never segment

    logging.getLogger("jieba").setLevel(logging.WARNING)
    cache_dir = Path(settings.JIEBA_CACHE_DIR)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = str(cache_dir)
    tokenizer.initialize()
    user_dict = Path(settings.JIEBA_USER_DICT)
    if user_dict.is_file():
        for word, freq in dictionary_file_terms(path=user_dict):
            tokenizer.add_word(text_normalise_plain(word), freq=freq)
    return tokenizer


def dictionary_file_terms(*, path: Path) -> list[tuple[str, int | None]]:
    """Words of a jieba user dictionary file: ``word [freq] [tag]`` per line, # comments."""
    terms: list[tuple[str, int | None]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        terms.append((parts[0], freq))
    return terms


def dictionary_file_terms_tagged(*, path: Path) -> list[tuple[str, str]]:
    """(word, part-of-speech tag or "") of a jieba user dictionary file."""
    if not path.is_file():
        return []
    terms: list[tuple[str, str]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        parts = raw.split("#", 1)[0].split()
        if parts:
            tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else ""
            terms.append((parts[0], tag))
    return terms


def dictionary_refresh(*, force: bool = False, check_now: bool = False) -> bool:
    """Reload admin words and synonyms when the database version changed.

    Cheap enough to call before every search or indexing batch: the database is
    asked at most every ``DICTIONARY_CHECK_INTERVAL`` seconds. Returns True when a
    reload happened.
    """
    global _last_check, _loaded_version, _words_version
    now = time.monotonic()
    recent = now - _last_check < DICTIONARY_CHECK_INTERVAL
    if not force and not check_now and _loaded_version is not None and recent:
        return False
    version = DictionaryState.current_version()
    _last_check = now
    if not force and version == _loaded_version:
        return False
    with _lock:
        words = {
            text_normalise_plain(word): freq
            for word, freq in DictionaryTerm.objects.values_list("word", "freq")
            if word.strip()
        }
        tokenizer = _jieba()
        for gone in _db_words - set(words):
            tokenizer.del_word(gone)
        for word, freq in words.items():
            tokenizer.add_word(word, freq=freq)
        _db_words.clear()
        _db_words.update(words)
        _words_version += 1
        _synonyms.clear()
        for group in Synonym.objects.filter(active=True).values_list("terms", flat=True):
            members = synonym_group_parse(text=group)
            for member in members:
                _synonyms[member] = tuple(dict.fromkeys([*_synonyms.get(member, ()), *members]))
        _loaded_version = version
    logger.info("search dictionary loaded: version %s, %d admin words", version, len(words))
    return True


def dictionary_loaded_version() -> int | None:
    return _loaded_version


def dictionary_words_version() -> int:
    """Goes up each time the words jieba knows are changed by ``dictionary_refresh``."""
    return _words_version


def synonym_group_parse(*, text: str) -> tuple[str, ...]:
    """Members of one synonym group written as ``a, b, c`` (also ，、; or new lines)."""
    parts = re.split(r"[,，、;；\n]+", text)
    members = [text_normalise_plain(p).strip() for p in parts]
    return tuple(dict.fromkeys(m for m in members if m))


def synonyms_for(*, term: str) -> tuple[str, ...]:
    """The normalised term followed by its synonyms (just the term when it has none)."""
    norm = text_normalise_plain(term).strip()
    group = _synonyms.get(norm)
    if not group:
        return (norm,)
    return (norm, *(m for m in group if m != norm))


# --- tokens -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    pos: int
    start: int  # offsets in the normalised text
    end: int


def cjk_cut(run: str) -> list[int]:
    """End offsets of jieba's precise (HMM-free) segmentation of a run of CJK characters.

    The C version (``zhtext/_cut.c``) when it is built, else ``cjk_cut_python``: the same
    programme. In C it looks fragments up in the lexicon when this process made one
    (``segmenter_lexicon_build``; made again here first when the words changed since), else
    in jieba's live FREQ dict; either way an editor's word counts at once.
    """
    tokenizer = _jieba()
    lexicon = _lexicon
    if lexicon is not None:
        if lexicon[1] != _words_version:
            lexicon = segmenter_lexicon_build()
        return lexicon[0].cut_ends(run, _logtotal(tokenizer.total))
    if _native_cut is not None:
        return _native_cut(run, tokenizer.FREQ, _logtotal(tokenizer.total))
    return cjk_cut_python(run)


def cjk_words(run: str) -> tuple[str, ...]:
    """The words of ``cjk_cut(run)``; cut by the C lexicon itself when this process has one
    (a Python slice per word was a fifth of segmenting a body)."""
    lexicon = _lexicon
    if lexicon is not None:
        if lexicon[1] != _words_version:
            lexicon = segmenter_lexicon_build()
        return lexicon[0].cut_words(run, _logtotal(_jieba().total))
    words = []
    prev = 0
    for end in cjk_cut(run):
        words.append(run[prev:end])
        prev = end
    return tuple(words)


def segmenter_lexicon_build() -> tuple[object, int] | None:
    """Copy the dictionary into the C segmenter's own table, for a process that segments in
    bulk (workers, ``ingest``; see ``zhtext.warm``): looking fragments up there makes no
    Python object per lookup, several times faster than reading jieba's dict. It costs ~30 MB,
    built before the worker pool forks so the pool shares one copy; web processes, which
    segment queries and snippets, read jieba's dict instead. Made again, on first use, after
    an editor's words changed the dictionary. None without the C module."""
    global _lexicon
    if _native_lexicon is None:
        return None
    with _lock:
        if _lexicon is None or _lexicon[1] != _words_version:
            version = _words_version
            _lexicon = (_native_lexicon(_jieba().FREQ), version)
        return _lexicon


def _logtotal(total: int) -> float:
    # (jieba keeps ``total`` up to date as words are added and removed)
    global _logtotal_of
    if _logtotal_of[0] != total:
        _logtotal_of = (total, math.log(total))
    return _logtotal_of[1]


_logtotal_of: tuple[int, float] = (0, 0.0)


def native_cut_available() -> bool:
    return _native_cut is not None


def cjk_cut_python(run: str) -> list[int]:
    """``cjk_cut`` in Python: the reference the C version is tested against, and its fallback.

    Same dynamic programme as jieba's ``__cut_DAG_NO_HMM`` (same dictionary, same
    log-probabilities, same tie-break on the later end), without building the DAG
    dict, the generator of tuples per character and the regex passes of ``cut()``:
    about three times faster than jieba.
    """
    tokenizer = _jieba()
    freq = tokenizer.FREQ
    logtotal = math.log(tokenizer.total)
    log = math.log
    n = len(run)
    best = [0.0] * (n + 1)
    ends = [0] * (n + 1)
    for idx in range(n - 1, -1, -1):
        # the single character is always a candidate (jieba adds it when nothing matched;
        # when it is a word it is scored the same way)
        top_end = idx + 1
        f = freq.get(run[idx])
        top = (log(f) if f else 0.0) - logtotal + best[idx + 1]
        j = idx + 2
        while j <= n:
            frag = run[idx:j]
            f = freq.get(frag)
            if f is None:
                break
            if f:
                score = log(f) - logtotal + best[j]
                if score >= top:
                    top, top_end = score, j
            j += 1
        best[idx] = top
        ends[idx] = top_end
    out: list[int] = []
    x = 0
    while x < n:
        x = ends[x]
        out.append(x)
    return out


def _word_pieces(norm: str) -> Iterator[tuple[str, int, int]]:
    for match in _TOKEN_RE.finditer(norm):
        kind = match.lastgroup
        start = match.start()
        if kind == "cjk":
            run = match.group()
            prev = 0
            for end in cjk_cut(run):
                yield run[prev:end], start + prev, start + end
                prev = end
        else:
            yield match.group(), start, match.end()


def text_terms(text: str) -> list[str]:
    """Index terms of ``text`` in order (position = list index), the fast path for indexing."""
    norm = _normalise_fast(text)
    out: list[str] = []
    append = out.append
    for match in _TOKEN_RE.finditer(norm):
        if match.lastgroup == "cjk":
            run = match.group()
            prev = 0
            for end in cjk_cut(run):
                append(run[prev:end])
                prev = end
        else:
            word = match.group()
            if _is_content(word):
                append(word)
    return out


def text_terms_grouped(text: str) -> tuple[tuple[str, ...], ...]:
    """``text_terms`` kept in the runs they came from: the words of one stretch of Chinese
    characters together, each Latin word alone, so a caller sees where punctuation was.

    The last few answers are kept: at ingest the keywords and the repost fingerprint read
    the same body, and it is segmented once for both. (Kept per dictionary version: an
    editor's new word changes the answer.)"""
    return _terms_grouped_cached(text, _loaded_version)


def text_terms_once(text: str) -> list[str]:
    """``text_terms`` through the cache of ``text_terms_grouped`` (same words, same order)."""
    return [word for group in text_terms_grouped(text) for word in group]


@functools.lru_cache(maxsize=4)
def _terms_grouped_cached(text: str, version: int | None) -> tuple[tuple[str, ...], ...]:
    norm = _normalise_fast(text)
    out: list[tuple[str, ...]] = []
    for match in _TOKEN_RE.finditer(norm):
        if match.lastgroup == "cjk":
            out.append(cjk_words(match.group()))
        else:
            word = match.group()
            if _is_content(word):
                out.append((word,))
    return tuple(out)


# Bumped when a change to this module changes what ``text_terms`` produces: terms stored
# under another revision are segmented again (see ``terms_key``).
ANALYSIS_REVISION = 1


@functools.cache
def _shipped_dictionary_digest(path: str) -> str:
    """The shipped user dictionary's content and jieba's version (whose dict.txt it extends)."""
    digest = hashlib.sha1(importlib.metadata.version("jieba").encode())
    file = Path(path)
    if file.is_file():
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def terms_key(text: str) -> str:
    """What ``text_terms(text)`` depends on: the text, this module's revision, the shipped
    dictionary and the admin words loaded now. Terms stored under this key (ingest segments a
    body once and keeps its terms) can be reused for as long as the key is the same: an edited
    body or a changed dictionary gives another key, and the text is segmented again."""
    shipped = _shipped_dictionary_digest(str(settings.JIEBA_USER_DICT))
    body = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    return f"{ANALYSIS_REVISION}:{shipped}:{_loaded_version}:{body}"


def terms_pack(terms: list[str]) -> str:
    """Terms as stored: separated by spaces (no term holds whitespace)."""
    return " ".join(terms)


def terms_unpack(packed: str) -> list[str]:
    return packed.split(" ") if packed else []


@dataclass(frozen=True, slots=True)
class AnalysedText:
    """A text handed to the index with its terms already known (``text_terms(text)``)."""

    text: str
    terms: tuple[str, ...]

    def __str__(self) -> str:
        return self.text


def pieces_words(norm: str) -> list[Piece]:
    return [Piece(text, pos, start, end) for pos, (text, start, end) in enumerate(_word_pieces(norm))]


def text_words(text: str) -> list[str]:
    """Precise tokens of ``text`` (skipping punctuation-only tokens)."""
    return [p.text for p in pieces_words(text_normalise_plain(text)) if _is_content(p.text)]


def _is_content(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def query_segments(text: str) -> list[tuple[str, str]]:
    """Split one query word into (kind, normalised text) runs: ``cjk``, ``alnum``, ``docnum``."""
    norm = text_normalise_plain(text)
    return [(m.lastgroup or "", m.group()) for m in _TOKEN_RE.finditer(norm)]


ALNUM_PART_RE = _ALNUM_PART_RE
