"""What the articles app tells the rooms above it, so that it never has to import them.

Django's model signals cover saves and deletes. Two things they do not carry:

* ``articles_changed`` — rows changed with ``queryset.update()`` (stories regrouped), which
  sends no ``post_save``. Sent with ``ids`` (article primary keys) and ``using``.
* ``changes_batched()`` — a bulk write (an ingest of many files) is starting or has finished;
  listeners may hold back per-change work (waking the index worker) until the end, or skip
  it (``wake=False`` on ``bulk_finished``) when another process wakes it for the batch.
  ``bulk_started`` and ``bulk_finished`` are sent from the same thread, always paired.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.dispatch import Signal

articles_changed = Signal()
bulk_started = Signal()
bulk_finished = Signal()


def articles_changed_send(*, ids: Iterable[int], using: str = "default") -> None:
    ids = sorted(set(ids))
    if ids:
        articles_changed.send(sender=None, ids=ids, using=using)


@contextmanager
def changes_batched(*, wake: bool = True) -> Iterator[None]:
    """``wake=False``: the changes are only recorded; whoever started this process's work
    (the parent of a forked ingest) wakes the index once for all of them."""
    bulk_started.send(sender=None)
    try:
        yield
    finally:
        bulk_finished.send(sender=None, wake=wake)
