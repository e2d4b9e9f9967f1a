from __future__ import annotations

import datetime
import logging
import os

from celery import Celery, bootsteps
from celery.signals import celeryd_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

logger = logging.getLogger(__name__)

app = Celery("portal")
# All Celery settings live in portal/settings.py under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class SweepOnConnect(bootsteps.StartStopStep):
    """Run the sweeps whenever this worker (re)connects to the broker.

    After a restart, the claims this worker's name held before are released and pending work is
    re-queued; after Redis came back empty, the messages it lost are sent again. Beat does the
    same periodically; this makes recovery not wait for beat's next tick. The sweeps run right
    here, in the worker's main process: sent as messages they would queue behind the very
    backlog whose claims they are to release.
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        # Built once per worker process: claims taken before this moment are a predecessor's.
        self.started_at = datetime.datetime.now(datetime.UTC).isoformat()

    def start(self, parent) -> None:
        sweeps = {
            "articles.tasks.ingest_sweep": {
                "restarted_worker": parent.hostname,
                "started_at": self.started_at,
            },
            "search.tasks.index_sweep": {},
        }
        try:
            for name, kwargs in sweeps.items():
                parent.app.tasks[name](**kwargs)
        except Exception:  # the database or the broker went away again: beat's next sweep covers it
            logger.exception("sweep at connect failed")
        finally:
            # Pool processes forked later must not inherit this process's database connection.
            from django.db import connections

            connections.close_all()


app.steps["consumer"].add(SweepOnConnect)


@celeryd_init.connect
def _worker_prepare(**kwargs) -> None:
    """Before the pool forks (worker program only): yield the CPU to the web, load jieba.

    The pool inherits both: every worker process runs at the lower priority, and one that
    replaces a process that died (killed, out of memory, max tasks) starts with the
    dictionaries already in memory instead of spending seconds loading them.
    """
    # Imported here: this module is loaded before Django's apps are ready.
    from django.conf import settings
    from django.db import connections

    from zhtext.warm import analysis_warm

    if settings.WORKER_NICENESS:
        os.nice(settings.WORKER_NICENESS)

    analysis_warm()  # jieba, the admin's words, the keyword tables, the MinHash permutations
    connections.close_all()  # pool processes must not share a database connection with us


@worker_process_init.connect
def _pool_process_start(**kwargs) -> None:
    """In each pool process, right after the fork: its own search-engine connections.

    The main process made some before forking (Celery's Django fixup runs the system checks,
    and the Elasticsearch check asks the node).
    """
    from search.engines import connections_forget

    connections_forget()
