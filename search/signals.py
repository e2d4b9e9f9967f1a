from __future__ import annotations

from haystack.signals import BaseSignalProcessor


class QueuedSignalProcessor(BaseSignalProcessor):
    """Placeholder until the queued processor lands: connects nothing."""
