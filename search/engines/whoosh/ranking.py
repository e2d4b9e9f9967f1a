"""Facet counts, result order and story collapse over an ``IndexView``'s masks."""

from __future__ import annotations

from typing import Any

import numpy as np

from .schema import STORY_FIELD
from .segments import leaf_column, leaf_facet


class Ranking:
    """Mixed into ``IndexView``: what needs the whole generation's matches at once."""

    leaves: list[tuple[Any, int, str | None]]
    _facets: dict[str, tuple[np.ndarray, np.ndarray, list[str]]]
    _published: np.ndarray | None
    _stories: np.ndarray | None

    def _facet(self, fieldname: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(docnums, value codes, values) for every (document, value) pair of a facet field."""
        found = self._facets.get(fieldname)
        if found is None:
            codes_of: dict[str, int] = {}
            docs: list[np.ndarray] = []
            codes: list[np.ndarray] = []
            for leaf, offset, segid in self.leaves:
                values, ldocs, lcodes = self._segment(
                    segid, ("facet", fieldname), lambda leaf=leaf: leaf_facet(leaf, fieldname)
                )
                if not values:
                    continue
                # the segment's value codes in this generation's numbering
                remap = np.fromiter(
                    (codes_of.setdefault(v, len(codes_of)) for v in values), dtype=np.int32, count=len(values)
                )
                docs.append(np.add(ldocs, offset, dtype=np.int32))
                codes.append(remap[lcodes])
            if docs:
                found = (np.concatenate(docs), np.concatenate(codes), list(codes_of))
            else:
                found = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), [])
            self._facets[fieldname] = found
        return found

    def facet_counts(self, *, fieldname: str, mask: np.ndarray) -> dict[str, int]:
        docs, codes, values = self._facet(fieldname)
        if not values:
            return {}
        counts = np.bincount(codes[mask[docs]], minlength=len(values))
        return {values[i]: int(c) for i in np.flatnonzero(counts).tolist() for c in (counts[i],)}

    def top(self, *, mask: np.ndarray, scores: np.ndarray | None, sort: str, limit: int) -> list[int]:
        candidates = np.flatnonzero(mask)
        if not len(candidates):
            return []
        if sort in ("newest", "oldest") or scores is None:
            dates = self.published()[candidates]
            keys = -dates if sort != "oldest" else dates
            order = np.lexsort((candidates, keys))
            return candidates[order[:limit]].tolist()
        cand_scores = scores[candidates]
        if len(candidates) > limit:
            part = np.argpartition(-cand_scores, limit - 1)[:limit]
            candidates, cand_scores = candidates[part], cand_scores[part]
        order = np.lexsort((candidates, -cand_scores))
        return candidates[order].tolist()

    def published(self) -> np.ndarray:
        if self._published is None:
            self._published = self._concat(
                "column",
                "published",
                lambda leaf: leaf_column(leaf, "published", translate=False, positive=False),
                np.int64,
            )
        return self._published

    def stories(self) -> np.ndarray:
        """Story id per document, 0 for documents in no story (or indexed before stories)."""
        if self._stories is None:
            self._stories = self._concat(
                "column",
                STORY_FIELD,
                lambda leaf: leaf_column(leaf, STORY_FIELD, translate=True, positive=True),
                np.int64,
            )
        return self._stories

    def collapse(self, *, mask: np.ndarray, scores: np.ndarray | None, sort: str) -> np.ndarray:
        """``mask`` keeping one document per story: the one ``top`` would list first."""
        candidates = np.flatnonzero(mask)
        if not len(candidates):
            return mask
        keys = self.stories()[candidates]
        grouped = keys > 0
        if not grouped.any():
            return mask
        docs, keys = candidates[grouped], keys[grouped]
        if sort in ("newest", "oldest") or scores is None:
            dates = self.published()[docs]
            primary = -dates if sort != "oldest" else dates
        else:
            primary = -scores[docs]
        order = np.lexsort((docs, primary, keys))
        ordered_keys = keys[order]
        later = np.zeros(len(order), dtype=bool)
        later[1:] = ordered_keys[1:] == ordered_keys[:-1]
        out = mask.copy()
        out[docs[order[later]]] = False
        return out
