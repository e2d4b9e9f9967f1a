"""haystack's update_index with a progress bar (rebuild_index calls this one too).

``search`` is listed before ``haystack`` in INSTALLED_APPS, so Django picks this command.
"""

from __future__ import annotations

from haystack.management.commands import update_index as haystack_update_index
from tqdm import tqdm


class Command(haystack_update_index.Command):
    def update_backend(self, label, using):
        original = haystack_update_index.do_update
        bar = tqdm(
            desc=f"索引 {label}", unit="篇", disable=self.verbosity == 0, total=None, file=self.stderr._out
        )

        # haystack indexes batch by batch through this module-level function and has no hook
        # for progress; wrapping it for the duration of the command is the least invasive way.
        def do_update(backend, index, qs, start, end, total, *args, **kwargs):
            bar.total = total
            max_pk = original(backend, index, qs, start, end, total, *args, **kwargs)
            bar.update(end - start)
            return max_pk

        haystack_update_index.do_update = do_update
        try:
            return super().update_backend(label, using)
        finally:
            haystack_update_index.do_update = original
            bar.close()
