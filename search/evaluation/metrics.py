"""Ranking metrics for judged queries.

Recall is capped at ``k``: when more articles are relevant than fit on the page, a
full page of relevant ones counts as 1.0. The judged sets are kept at ten or fewer,
so for them this is plain recall@k.

An entry of a ranking is one article id, or a frozenset of ids when the page shows one
entry for a story republished by several sources ("N 个来源"): every article of the entry
is found at that entry's rank.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field


def _members(entry: Hashable) -> frozenset:
    return entry if isinstance(entry, frozenset) else frozenset([entry])


def recall_at_k(*, ranked: Sequence[Hashable], relevant: Iterable[Hashable], k: int) -> float:
    wanted = set(relevant)
    if not wanted:
        # Nothing to find: an empty judged set cannot be missed.
        return 1.0
    shown = frozenset().union(*(_members(entry) for entry in ranked[:k]))
    found = wanted & shown
    return len(found) / min(len(wanted), k)


def reciprocal_rank(*, ranked: Sequence[Hashable], relevant: Iterable[Hashable]) -> float:
    wanted = set(relevant)
    for index, entry in enumerate(ranked, start=1):
        if wanted & _members(entry):
            return 1.0 / index
    return 0.0


@dataclass(frozen=True)
class QueryOutcome:
    query: str
    kind: str
    recall: float
    rr: float
    missed: tuple[str, ...] = ()
    # Expected files that have no article in the database (never ingested or failed).
    absent: tuple[str, ...] = ()
    hits: int = 0


@dataclass
class GroupSummary:
    name: str
    outcomes: list[QueryOutcome] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.outcomes)

    @property
    def recall(self) -> float:
        return sum(o.recall for o in self.outcomes) / self.count if self.outcomes else 0.0

    @property
    def mrr(self) -> float:
        return sum(o.rr for o in self.outcomes) / self.count if self.outcomes else 0.0


EVERYDAY = "everyday"
HARD = "hard"


def outcomes_summarise(*, outcomes: Iterable[QueryOutcome]) -> dict[str, GroupSummary]:
    """Summaries for ``everyday``, ``hard`` (every other kind) and each kind on its own."""
    groups: dict[str, GroupSummary] = {EVERYDAY: GroupSummary(EVERYDAY), HARD: GroupSummary(HARD)}
    for outcome in outcomes:
        top = EVERYDAY if outcome.kind == EVERYDAY else HARD
        groups[top].outcomes.append(outcome)
        if outcome.kind != EVERYDAY:
            groups.setdefault(outcome.kind, GroupSummary(outcome.kind)).outcomes.append(outcome)
    return groups
