"""Gunicorn settings for the portal: docker-compose's web service and `make serve`.

    gunicorn -c portal/gunicorn.conf.py -b 0.0.0.0:8000 portal.wsgi

Workers change without editing this file, the way gunicorn reads them itself: WEB_CONCURRENCY=4
sets the worker count, GUNICORN_CMD_ARGS="--timeout 60" any other setting (GUNICORN_CMD_ARGS and
the command line take precedence over this file).

Measured on the 2-core machine with PostgreSQL and the 228 real articles (scripts/load_test.py;
figures in README.md, "Serving"): three sync workers sustained the most, with the lowest
latency. gthread lost at 1, 2, 4 and 8 threads: the search is CPU-bound Python, so the threads
of one process share one core under the GIL, and gthread workers accept connections even when
busy, queueing a request behind a slow search while another worker has a core free. Sync
workers leave waiting connections in the kernel's backlog, where the first idle worker takes
them; portal/middleware.py answers those that waited too long with a fast 503.
"""

from __future__ import annotations

import logging
import os

# One request per process at a time, taken by whichever worker is idle: no queue behind a busy one.
worker_class = "sync"
# More than one thread would silently turn "sync" into gthread.
threads = 1
# 2 cores + 1 to compute while another waits on PostgreSQL; each more costs ~240 MB of caches.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Holds ~5 s (REQUEST_QUEUE_TIMEOUT_MS) of a 100 req/s peak: stale requests are shed before it fills.
backlog = 512
# A sync request still running after 30 s lost its reader long ago (the slowest search takes ~1 s).
timeout = 30
# Running requests may finish on SIGTERM, within docker's 10 s stop grace period.
graceful_timeout = 8
# Sync closes after each response; used if GUNICORN_CMD_ARGS switches to gthread (short: idle sockets).
keepalive = 5
# Recycle a worker now and then against slow memory growth; rare, as a fresh worker must warm up.
max_requests = 20000
# So the three workers, started together, are not recycled together.
max_requests_jitter = 4000
# Its default path is one per user: another gunicorn on the machine would take it over; unused here.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Load jieba and the index before the worker accepts its first connection.

    A cold worker spends about 3 s of CPU on its first search; done here, the requests after a
    start or a max_requests restart do not wait for it (the other workers serve meanwhile).
    """
    from django.db import connections

    from search.selectors import search_warm

    try:
        search_warm()
    except Exception:
        # An empty or missing index must not keep the site from starting.
        logging.getLogger("portal.gunicorn").warning("search warm-up failed", exc_info=True)
    finally:
        connections.close_all()
