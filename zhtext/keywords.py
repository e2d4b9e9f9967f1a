"""Keywords of an article (TF-IDF over the index's own words) and the keywords trending
across recent articles.

Extraction runs at ingest and stores ``[[word, weight], ...]`` on the article, best first.
It takes the words ``zhtext.analysis.text_terms`` makes for the search index (the same
normalisation, the same segmentation, the policy-term user dictionary and the admin's words
included), so a keyword is always a word the index knows as a whole and the text is segmented
the way the index segments it. A word is a candidate by its class in jieba's dictionaries
(nouns, names, verbal nouns; the user dictionary's words; Latin words): looked up, not
guessed by jieba's HMM part-of-speech tagger, which cost ~40 % of ingest and split words the
index keeps whole. Its weight is the usual term frequency times jieba's inverse document
frequency. 個人資訊 and 个人信息 give one keyword; Latin words get their original spelling
back for display.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from .analysis import (
    _jieba,
    dictionary_file_terms_tagged,
    dictionary_words_version,
    text_normalise_plain,
    text_terms,
    text_terms_grouped,
)

STOPWORDS_FILE = Path(__file__).resolve().parent / "dicts" / "stopwords.txt"
# Nouns, proper nouns, verbal nouns and Latin words; plain verbs and adjectives make poor topics.
ALLOWED_POS = frozenset(("n", "nr", "ns", "nt", "nz", "nw", "vn", "eng", "user"))
# The title says what the article is about; counting it several times lets its words win ties.
TITLE_REPEAT = 3
WEIGHT_DIGITS = 4
_ENGLISH_STOPWORDS = frozenset(
    """
    a an the and or but if of to in on at by for from with as is are was were be been being this that these
    those it its we you they he she i our your their his her them us not no so than then there here what which
    who whom how when where why all any each more most other some such can could will would should may might
    must do does did done have has had just also into over about after before up down out new one two http
    https www com cn net org html htm php jpg png gif mp wx qq weixin mmbiz amp nbsp low medium high
    moderate critical mod day days week year time via get set use used using based like make made many much
    very well first last next per said says according including however while within without between
    """.split()
)
_LATIN_RE = re.compile(r"^[a-z0-9][a-z0-9.+_-]*$")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_CJK_RUNS_RE = re.compile(r"[\u3400-\u9fff]+")
# Links and image addresses are not what an article is about (qpic, mmbiz, fmt=jpeg ...).
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\]\([^)]*\)|<[^>]+>", flags=re.IGNORECASE)
# Addresses are not what an article is about (mp.weixin.qq.com, blog.example.org).
_ADDRESS_RE = re.compile(r"(?:https?|www)\b.*|.*\.(?:com|cn|net|org|gov|edu|io|html?|php|jpe?g|png|gif)")

_lock = threading.Lock()
_tables: tuple[dict[str, str], dict[str, float], float, frozenset[str]] | None = None


def stopwords_load(*, path: Path = STOPWORDS_FILE) -> frozenset[str]:
    words: set[str] = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        word = raw.split("#", 1)[0].strip()
        if word:
            words.add(text_normalise_plain(word))
    return frozenset(words | _ENGLISH_STOPWORDS)


def _tables_load() -> tuple[dict[str, str], dict[str, float], float, frozenset[str]]:
    """(word → class, word → IDF, the median IDF for unknown words, stop words), read once
    per process from jieba's own files and the project's dictionaries."""
    global _tables
    if _tables is None:
        with _lock:
            if _tables is None:
                import jieba  # its package holds the dictionary and the IDF table

                package = Path(jieba.__file__).resolve().parent
                classes: dict[str, str] = {}
                with open(package / "dict.txt", encoding="utf-8") as handle:
                    for line in handle:
                        parts = line.split()
                        if len(parts) == 3:
                            classes.setdefault(parts[0].lower(), parts[2])
                for word, tag in dictionary_file_terms_tagged(path=Path(settings.JIEBA_USER_DICT)):
                    classes[text_normalise_plain(word)] = tag or "user"
                idf: dict[str, float] = {}
                with open(package / "analyse" / "idf.txt", encoding="utf-8") as handle:
                    for line in handle:
                        word, _, value = line.strip().rpartition(" ")
                        if word:
                            idf[word] = float(value)
                median = sorted(idf.values())[len(idf) // 2] if idf else 1.0
                _tables = (classes, idf, median, stopwords_load())
    return _tables


# Characters that make up the glue of Chinese sentences: a run of single characters holding
# one of them is a phrase the dictionary split (多地, 将被), not an unknown name.
_GLUE_CHARS = frozenset(
    "的了在是和与及等对将为也就都而被把从以于之其这那个有中上下不一我你他她它们地得着过会要能可"
    "该此并或但又还已最很多少大小新各每所到后前内外时年月日号来去说让给向由因如若则即既且更再"
    "又只仅比至共同总近超约第两三四五六七八九十百千万亿元次项家名位种类些点"
    "谁才哪啥怎么吗呢吧啊呀嘛您咱曝未"
)
# A run of 2–4 single characters seen this often (the title's count three times over) is
# taken for a word the dictionary lacks: a person's or a company's name (刘烈宏).
NEW_WORD_MIN_COUNT = 3


def _new_words(words: list[str], *, times: int, counts: Counter[str]) -> None:
    """Count the runs of single CJK characters in ``words`` (one stretch of text between
    punctuation) that could be one unknown word."""
    run: list[str] = []
    for word in words:
        # (one character compared with the CJK block's bounds: a pattern call per word was
        # most of this loop's time)
        if len(word) == 1 and "\u3400" <= word <= "\u9fff" and word not in _GLUE_CHARS:
            run.append(word)
            continue
        if run:
            if 2 <= len(run) <= 4:
                counts["".join(run)] += times
            run = []
    if 2 <= len(run) <= 4:
        counts["".join(run)] += times


# Whether a word can be a keyword at all (not a stop word, a word and not a number, of an
# allowed class), per process: an article's few hundred distinct words were each looked up
# through three patterns and two dictionaries, a sixth of the keywords' time, and most
# words recur from article to article. Cleared when an editor's words change the dictionary
# (a new word has a class: "user") and when it holds this many words (~12 MB: numbers and
# hashes make the words of an archive endless).
CANDIDATE_MEMO_WORDS = 100_000
_memo: dict[str, bool] = {}
_memo_version: int | None = None


def _candidate_memo() -> dict[str, bool]:
    global _memo_version
    version = dictionary_words_version()
    if version != _memo_version or len(_memo) >= CANDIDATE_MEMO_WORDS:
        _memo.clear()
        _memo_version = version
    return _memo


def _word_class(word: str, *, classes: dict[str, str], freq: dict[str, int]) -> str:
    if not _CJK_RE.search(word):
        return "eng"
    found = classes.get(word)
    if found:
        return found
    # a word only the admin's dictionary knows (jieba's FREQ has it, no class): a term
    return "user" if freq.get(word) else "x"


# Dates, sizes and ordinals (2024-07-09, 1.29tb, 25th): numbers, not topics.
_NUMBER_LIKE_RE = re.compile(r"[\d.,:/_-]+[a-z]{0,2}")


def _is_keyword(word: str) -> bool:
    if _CJK_RE.search(word):
        return len(word) >= 2
    if _NUMBER_LIKE_RE.fullmatch(word) or _ADDRESS_RE.fullmatch(word):
        return False
    # Latin: real words and names (ai, apt28, 5g), not numbers, hashes or URL pieces.
    return bool(_LATIN_RE.match(word)) and 2 <= len(word) <= 30 and not word.replace(".", "").isdigit()


def _mostly_chinese(text: str) -> bool:
    letters = sum(map(str.isalpha, text))  # (one C call per character, not a generator step)
    # (counted in runs: a list of every character would be a string object each)
    return bool(letters) and sum(map(len, _CJK_RUNS_RE.findall(text))) * 3 >= letters


def _latin_fits(*, shown: str, chinese: bool) -> bool:
    """In Chinese text, Latin words worth a keyword are names (CVE, macOS, FortiMail), not
    stray lowercase words from code or CVSS strings (low, mod); in English text, real words."""
    if chinese:
        return any(ch.isupper() or ch.isdigit() for ch in shown)
    return len(shown) >= 4 or any(ch.isupper() for ch in shown)


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _display_form(word: str, original: str, lowered: str) -> str:
    """The spelling the article used for a Latin keyword (AI, not ai): its first occurrence
    standing alone (not inside a longer Latin word). ``lowered`` is ``original.lower()``; a
    scan of it, not a pattern compiled per word (that compiling was a tenth of the keywords'
    time)."""
    if _CJK_RE.search(word):
        return word
    if len(lowered) != len(original):  # lower() changed a length (rare letters): the slow way
        found = re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", original, re.IGNORECASE)
        return found.group() if found else word
    start = lowered.find(word)
    while start != -1:
        end = start + len(word)
        if (start == 0 or not _is_word_char(lowered[start - 1])) and (
            end == len(lowered) or not _is_word_char(lowered[end])
        ):
            return original[start:end]
        start = lowered.find(word, start + 1)
    return word


def keywords_extract(*, title: str, text: str, top_k: int = 8) -> list[tuple[str, float]]:
    """The article's best keywords with their TF-IDF weight, best first."""
    title = (title or "").strip()
    body = text or ""
    links = _URL_RE.findall(body)
    original = f"{title}\n{_URL_RE.sub(' ', body) if links else body}"
    if not original.strip():
        return []
    classes, idf, median_idf, stopwords = _tables_load()
    freq = _jieba().FREQ
    counts: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    # The body's words are the ones its repost fingerprint reads too: segmented once.
    for text_part, times in ((title, TITLE_REPEAT), (body, 1)):
        groups = text_terms_grouped(text_part)
        for _ in range(times):
            counts.update(itertools.chain.from_iterable(groups))  # counted in C
        for words in groups:
            _new_words(words, times=times, counts=runs)
    # the words that only came from links (the body is segmented whole, once, for the
    # fingerprint too; its links are taken back out here)
    for link in links:
        for word in text_terms(link):
            counts[word] -= 1
    candidates: dict[str, int] = {}
    memo = _candidate_memo()
    for word, count in counts.items():
        if count <= 0:
            continue
        fits = memo.get(word)
        if fits is None:
            fits = memo[word] = (
                word not in stopwords
                and _is_keyword(word)
                and _word_class(word, classes=classes, freq=freq) in ALLOWED_POS
            )
        if fits:
            candidates[word] = count
    for word, count in runs.items():
        if count >= NEW_WORD_MIN_COUNT and word not in stopwords:
            candidates[word] = count
    total = sum(candidates.values())
    if not total:
        return []
    scored = sorted(
        ((word, count * idf.get(word, median_idf) / total) for word, count in candidates.items()),
        key=lambda item: (-item[1], item[0]),
    )
    chinese = _mostly_chinese(original)
    lowered = original.lower()
    out: list[tuple[str, float]] = []
    for word, weight in scored:
        shown = _display_form(word, original, lowered)
        if not _CJK_RE.search(word) and not _latin_fits(shown=shown, chinese=chinese):
            continue
        out.append((shown, round(float(weight), WEIGHT_DIGITS)))
        if len(out) >= top_k:
            break
    return out


def keywords_stored(*, keywords: Iterable) -> list[tuple[str, float]]:
    """An article's stored keyword list read defensively (rows edited by hand may be odd)."""
    out: list[tuple[str, float]] = []
    for item in keywords or []:
        if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str):
            try:
                out.append((item[0], float(item[1])))
            except (TypeError, ValueError):
                continue
        elif isinstance(item, str):
            out.append((item, 1.0))
    return out


def keywords_trending_score(
    *,
    window: Iterable[Iterable],
    background: dict[str, int],
    background_total: int,
    limit: int = 20,
) -> list[tuple[str, float]]:
    """Rank the keywords of recent articles by how much more often they appear than usual.

    ``window`` holds the stored keyword lists of the recent articles, ``background`` how
    many articles of the whole collection have each word (``background_total`` articles).
    A word scores the sum of its TF-IDF weights in the window (each article once) times
    the log of its lift: its share of recent articles over its share of all articles. A
    word that is in every article has a lift of about 1 and sinks; a word that suddenly
    fills the week rises. Scores are scaled so the best is 1.0.
    """
    weights: dict[str, float] = {}
    counts: dict[str, int] = {}
    spelling: dict[str, str] = {}
    articles = 0
    for keywords in window:
        articles += 1
        seen: set[str] = set()
        for word, weight in keywords_stored(keywords=keywords):
            key = word.lower()
            if key in seen:
                continue
            seen.add(key)
            spelling.setdefault(key, word)
            weights[key] = weights.get(key, 0.0) + weight
            counts[key] = counts.get(key, 0) + 1
    if not articles:
        return []
    total = max(background_total, articles)
    # In a busy window a word from a single article is noise; in a quiet one it is all there is.
    min_articles = 2 if articles >= 10 else 1
    scored: list[tuple[str, float]] = []
    for key, weight in weights.items():
        count = counts[key]
        if count < min_articles:
            continue
        share_recent = count / articles
        share_all = (max(background.get(key, 0), count) + 1) / (total + 1)
        lift = share_recent / share_all
        scored.append((spelling[key], weight * math.log1p(lift)))
    scored.sort(key=lambda item: (-item[1], item[0]))
    top = scored[:limit]
    if not top:
        return []
    best = top[0][1] or 1.0
    return [(word, round(score / best, WEIGHT_DIGITS)) for word, score in top]


def keywords_background(*, keyword_lists: Iterable[Iterable]) -> tuple[dict[str, int], int]:
    """For each word, in how many of the given articles it is a keyword; and how many articles."""
    counts: dict[str, int] = {}
    total = 0
    for keywords in keyword_lists:
        total += 1
        for key in {word.lower() for word, _ in keywords_stored(keywords=keywords)}:
            counts[key] = counts.get(key, 0) + 1
    return counts, total


def keywords_json(*, title: str, text: str, top_k: int = 8) -> list[list]:
    """``keywords_extract`` as stored on ``Article.keywords`` (lists, so a re-read compares equal)."""
    return [[word, weight] for word, weight in keywords_extract(title=title, text=text, top_k=top_k)]
