"""The inbox folder: files dropped there are ingested by a periodic job and moved aside."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from .models import IngestItem, IngestRun
from .services import (
    ARCHIVE_SUFFIXES,
    ARTICLE_SUFFIXES,
    ingest_inputs_iter,
    ingest_item_add,
    ingest_item_process,
    ingest_run_create,
)

logger = logging.getLogger(__name__)

# A file younger than this may still be being copied in; it is picked up on the next tick.
SETTLE_SECONDS = 2.0


def _unique_target(folder: Path, name: str) -> Path:
    target = folder / name
    stem, suffix = os.path.splitext(name)
    counter = 1
    while target.exists():
        target = folder / f"{stem}.{counter}{suffix}"
        counter += 1
    return target


def inbox_process(*, inbox_dir: Path, settle_seconds: float = SETTLE_SECONDS) -> int:
    """Ingest every settled file in the inbox; returns how many files were taken."""
    processing, done, failed = (inbox_dir / name for name in ("processing", "done", "failed"))
    for folder in (inbox_dir, processing, done, failed):
        folder.mkdir(parents=True, exist_ok=True)

    now = time.time()
    claimed: list[Path] = []
    for path in sorted(inbox_dir.iterdir()):
        if (
            not path.is_file()
            or path.name.startswith(".")
            or path.suffix.lower() not in ARTICLE_SUFFIXES | ARCHIVE_SUFFIXES
            or now - path.stat().st_mtime < settle_seconds
        ):
            continue
        target = _unique_target(processing, path.name)
        try:
            # rename is atomic: when two beat ticks overlap, only one of them gets the file.
            path.rename(target)
        except FileNotFoundError:
            continue
        claimed.append(target)
    if not claimed:
        return 0

    run = ingest_run_create(trigger=IngestRun.Trigger.INBOX, paths=[p.name for p in claimed])
    for path in claimed:
        items = [ingest_item_add(run=run, source=source) for source in ingest_inputs_iter(paths=[path])]
        outcomes = [
            ingest_item_process(item_id=item.id) if item.outcome == "pending" else item.outcome
            for item in items
        ]
        if not items or IngestItem.Outcome.FAILED in outcomes:
            reasons = [
                f"{item.path}: {item.reason}"
                for item in IngestItem.objects.filter(run=run, path__startswith=str(path), outcome="failed")
            ] or ["压缩包里没有 .md 文件"]
            target = _unique_target(failed, path.name)
            path.rename(target)
            target.with_name(target.name + ".reason.txt").write_text(
                "\n".join(reasons) + "\n", encoding="utf-8"
            )
        else:
            path.rename(_unique_target(done, path.name))
    logger.info("inbox: ingested %d files in run %s", len(claimed), run.pk)
    return len(claimed)
