"""haystack's update_index with a progress bar, a build on every core and merges (rebuild_index
calls this one too).

``search`` is listed before ``haystack`` in INSTALLED_APPS, so Django picks this command.

Into an empty index (``rebuild_index`` clears it first) the engine builds with
``--workers`` processes (default ``SEARCH_BUILD_JOBS``) where it can
(``documents_build``, which merges as it builds); otherwise haystack's batches run one after
another. Either way what is left to merge by tiers is merged at the end (``maintain``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from haystack import connections as haystack_connections
from haystack.exceptions import NotHandled
from haystack.management.commands import update_index as haystack_update_index
from haystack.utils.app_loading import haystack_get_models
from tqdm import tqdm

from search.engines import engine_get
from search.engines.contract import IndexBuildFailed, IndexBusy


class Command(haystack_update_index.Command):
    def handle(self, **options):
        # haystack logs a failing label with a traceback and re-raises; a build that could not
        # run is reported here instead, as one sentence.
        self._failure = ""
        super().handle(**options)
        if self._failure:
            raise CommandError(self._failure)

    def update_backend(self, label, using):
        try:
            built = self._built(label, using)
        except (IndexBusy, IndexBuildFailed) as exc:
            self._failure = str(exc)
            return None
        if built:
            self._merge(using)
            return None
        original = haystack_update_index.do_update
        bar = self._bar(label)

        # haystack indexes batch by batch through this module-level function and has no hook
        # for progress; wrapping it for the duration of the command is the least invasive way.
        def do_update(backend, index, qs, start, end, total, *args, **kwargs):
            bar.total = total
            max_pk = original(backend, index, qs, start, end, total, *args, **kwargs)
            if hasattr(index, "prepared_store"):
                index.prepared_store()  # (Elasticsearch's batches prepare inside haystack)
            bar.update(end - start)
            return max_pk

        haystack_update_index.do_update = do_update
        try:
            result = super().update_backend(label, using)
        finally:
            haystack_update_index.do_update = original
            bar.close()
        self._merge(using)
        return result

    def _bar(self, label: str) -> tqdm:
        return tqdm(
            desc=f"索引 {label}", unit="篇", disable=self.verbosity == 0, total=None, file=self.stderr._out
        )

    def _built(self, label: str, using: str) -> bool:
        """Whether the engine built the label's models itself (an empty index, no date range)."""
        jobs = self.workers or settings.SEARCH_BUILD_JOBS
        if jobs <= 1 or self.remove or self.start_date or self.end_date:
            return False
        engine = engine_get(using=using)
        if engine.concurrent_writes:
            return False  # several writers at once: haystack's batches are already the build
        unified_index = haystack_connections[using].get_unified_index()
        models = []
        for model in haystack_get_models(label):
            try:
                models.append((model, unified_index.get_index(model)))
            except NotHandled:
                continue
        if len(models) != 1:
            return False  # nothing indexed under this label (or several models: batch by batch)
        model, index = models[0]
        queryset = index.build_queryset(using=using)
        total = queryset.count()
        if not total:
            return False
        with self._bar(label) as bar:
            bar.total = total
            built = engine.documents_build(
                index=index,
                queryset=queryset,
                jobs=jobs,
                batch_size=self.batchsize or settings.SEARCH_BUILD_BATCH,
                on_batch=bar.update,
                on_merge=self._merge_shown,
            )
        if built is not None and self.verbosity:
            self.stdout.write(f"已用 {jobs} 个进程建立索引：{built} 篇{model._meta.verbose_name_plural}")
        return built is not None

    def _merge(self, using: str) -> None:
        """Merge the segments the batches wrote (commits merge only small groups)."""
        engine_get(using=using).maintain(
            wait=True, jobs=self.workers or settings.SEARCH_BUILD_JOBS, on_merge=self._merge_shown
        )

    def _merge_shown(self, result) -> None:
        if self.verbosity:
            # (above a progress bar that may be running: the build merges as it goes)
            tqdm.write(
                f"合并索引段：{result.merged} 段 → 1 段（{result.documents} 篇，{result.seconds:.1f} 秒）",
                file=self.stderr._out,
            )
