"""How a run of Chinese text stretches over consecutive indexed words, for any engine.

A quoted 安全评估申报 must find 数据出境安全评估|申报: the run starts inside one indexed
word and ends inside another. Each engine answers three questions about its own word list
(which words end with a piece, which start with one, is a piece a whole word); the walk
over the run's split points is the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

# Most indexed words one end of a boundary-spanning phrase may stand for.
SPAN_ALTERNATIVES = 40
# Runs outside these lengths are not spanned (one character is no phrase; long runs are slow).
SPAN_MIN_CHARS = 2
SPAN_MAX_CHARS = 16

Words = Callable[[str], list[str]]


def span_pieces(needle: str) -> tuple[list[str], list[str], list[str]]:
    """(pieces that may end a first word, pieces that may start a last word, pieces that
    may be whole words in between) of ``needle``: what ``span_ways`` will ask about."""
    n = len(needle)
    if n < SPAN_MIN_CHARS or n > SPAN_MAX_CHARS:
        return [], [], []
    heads = [needle[:k] for k in range(2, n)]
    tails = [needle[k:] for k in range(1, n - 1)]
    middles = sorted({needle[i:j] for i in range(1, n) for j in range(i + 1, n)})
    return heads, tails, middles


def span_ways(
    needle: str, *, ending: Words, starting: Words, is_word: Callable[[str], bool], limit: int = 4
) -> list[list[list[str]]]:
    """Ways ``needle`` (a CJK run) can stretch over several consecutive indexed words.

    Each way is a list of alternatives per position: the first piece may be the end of a
    longer word, the last the start of one, the pieces between are whole words.
    安全评估申报 over the words 数据出境安全评估 / 申报 gives
    ``[[数据出境安全评估, ...], [申报, 申报表, ...]]``. ``ending(piece)``/``starting(piece)``
    are the indexed words ending/starting with ``piece``.
    """
    n = len(needle)
    if n < SPAN_MIN_CHARS or n > SPAN_MAX_CHARS:
        return []
    ways: list[list[list[str]]] = []

    # End pieces of one character, or that end/start too many words, would turn a phrase
    # into "any word ending in X next to any word starting with Y": slow and mostly noise.
    # The aligned case is the exact phrase anyway.
    def first(piece: str) -> list[str]:
        found = ending(piece) if len(piece) > 1 else []
        return found if len(found) <= SPAN_ALTERNATIVES else []

    def last(piece: str) -> list[str]:
        found = starting(piece) if len(piece) > 1 else []
        return found if len(found) <= SPAN_ALTERNATIVES else []

    def walk(start: int, acc: list[list[str]]) -> None:
        if len(ways) >= limit:
            return
        for end in range(start + 1, n + 1):
            piece = needle[start:end]
            if end == n:
                if acc:
                    found = last(piece)
                    if found:
                        ways.append([*acc, found])
            elif is_word(piece):
                walk(end, [*acc, [piece]])

    for first_end in range(1, n):
        found = first(needle[:first_end])
        if found:
            walk(first_end, [found])
    return ways
