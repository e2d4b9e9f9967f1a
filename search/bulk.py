"""Bulk writes without one index task per row.

A command that saves thousands of articles in a row (an inline ingest) would otherwise send one
small index task per article commit; with Whoosh's single writer that is one commit per
article. Here the signal processor is paused for the block and the touched ids are queued at
the end, in the processor's usual chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.apps import apps


@contextmanager
def index_updates_batched(*, touched_ids: Callable[[], list[int]]) -> Iterator[None]:
    """Run a bulk write; afterwards queue ``touched_ids()`` for indexing in a few large tasks."""
    from .signals import article_ids_enqueue

    processor = apps.get_app_config("haystack").signal_processor
    processor.teardown()
    try:
        yield
    finally:
        processor.setup()
        ids = touched_ids()
        if ids:
            article_ids_enqueue(ids=ids)
