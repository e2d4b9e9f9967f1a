"""The inbox folder: files dropped there are ingested, then moved to done/ or failed/.

Each tick of the beat job:

1. takes the settled files in the inbox by an atomic rename into ``processing/`` (two ticks
   never take one file), under a name no earlier file had;
2. records a run with an item per file (``articles.ingest``) and wakes the workers — or,
   without a broker, processes them right here;
3. settles ``processing/`` from the database: a file whose items are all finished moves to
   ``done/``, or to ``failed/`` with a ``.reason.txt``; one whose items are pending stays; one
   with no item at all was taken by a tick that died before recording it, and once it has
   waited ``INGEST_INBOX_STRANDED_SECONDS`` it is taken again (by another rename) and recorded.

The item holds the file's bytes, so the file itself is only a receipt for the operator; the
database decides what was ingested, and nothing is ingested twice.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db.models import Q

from .ingest import ingest_run_dispatch, ingest_run_start, ingest_run_work
from .inputs import ARCHIVE_SUFFIXES, ARTICLE_SUFFIXES, input_from_bytes
from .models import IngestItem, IngestRun

logger = logging.getLogger(__name__)

Outcome = IngestItem.Outcome
# A file younger than this may still be being copied in; it is picked up on the next tick.
SETTLE_SECONDS = 2.0
LABEL = "收件箱："
# processing/ names are "<token>~<original name>": unique, and the original is kept for done/.
TOKEN_SEPARATOR = "~"


def _unique_target(folder: Path, name: str) -> Path:
    target = folder / name
    stem, suffix = os.path.splitext(name)
    counter = 1
    while target.exists():
        target = folder / f"{stem}.{counter}{suffix}"
        counter += 1
    return target


def _take(path: Path, processing: Path, original: str) -> Path | None:
    """Move ``path`` into processing/ under a fresh name; None when another tick took it first."""
    target = processing / f"{uuid.uuid4().hex[:12]}{TOKEN_SEPARATOR}{original}"
    try:
        path.rename(target)  # atomic: of two ticks, one gets the file
    except FileNotFoundError:
        return None
    return target


def _record(files: list[Path]) -> None:
    if not files:
        return
    run = ingest_run_start(
        trigger=IngestRun.Trigger.INBOX,
        sources=(
            input_from_bytes(path=f"{LABEL}{p.name}", size=p.stat().st_size, read=p.read_bytes) for p in files
        ),
        paths=[p.name.split(TOKEN_SEPARATOR, 1)[-1] for p in files],
    )
    if ingest_run_dispatch(run=run) is None:
        ingest_run_work(run=run)
    logger.info("inbox: recorded %d files in run %s", len(files), run.pk)


def _settle(*, processing: Path, done: Path, failed: Path) -> list[Path]:
    """Move finished files out of processing/; returns the stranded ones, taken again."""
    stranded: list[Path] = []
    now = time.time()
    for path in sorted(processing.iterdir()):
        if not path.is_file():
            continue
        original = path.name.split(TOKEN_SEPARATOR, 1)[-1]
        label = f"{LABEL}{path.name}"
        items = IngestItem.objects.filter(
            Q(path=label, parent=None) | Q(parent__path=label, parent__parent=None)
        )
        states = list(items.values_list("outcome", "path", "reason"))
        if not states:
            # rename() sets ctime: this is how long the file has sat here unrecorded.
            if now - path.stat().st_ctime >= settings.INGEST_INBOX_STRANDED_SECONDS:
                taken = _take(path, processing, original)
                if taken is not None:
                    logger.warning("inbox: %s was taken but never recorded; recording it now", original)
                    stranded.append(taken)
            continue
        if any(outcome == Outcome.PENDING for outcome, _, _ in states):
            continue
        reasons = [f"{original}{p.removeprefix(label)}：{r}" for o, p, r in states if o == Outcome.FAILED]
        if reasons:
            target = _unique_target(failed, original)
            path.rename(target)
            target.with_name(target.name + ".reason.txt").write_text(
                "\n".join(reasons) + "\n", encoding="utf-8"
            )
        else:
            path.rename(_unique_target(done, original))
    return stranded


def inbox_process(*, inbox_dir: Path, settle_seconds: float = SETTLE_SECONDS) -> int:
    """One tick: take new files, record them, settle processing/. Returns how many new files were taken."""
    processing, done, failed = (inbox_dir / name for name in ("processing", "done", "failed"))
    for folder in (inbox_dir, processing, done, failed):
        folder.mkdir(parents=True, exist_ok=True)

    now = time.time()
    taken: list[Path] = []
    for path in sorted(inbox_dir.iterdir()):
        if (
            not path.is_file()
            or path.name.startswith(".")
            or path.suffix.lower() not in ARTICLE_SUFFIXES | ARCHIVE_SUFFIXES
            or now - path.stat().st_mtime < settle_seconds
        ):
            continue
        target = _take(path, processing, path.name)
        if target is not None:
            taken.append(target)
    _record(taken)
    _record(_settle(processing=processing, done=done, failed=failed))
    # Inline, the files just recorded are finished already: move them out in the same tick.
    _settle(processing=processing, done=done, failed=failed)
    return len(taken)
