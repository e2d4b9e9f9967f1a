"""Gunicorn settings for the portal: docker-compose's web service and `make serve`.

    gunicorn -c portal/gunicorn.conf.py -b 0.0.0.0:8000 portal.wsgi

Workers change without editing this file, the way gunicorn reads them itself: WEB_CONCURRENCY=4
sets the worker count, GUNICORN_CMD_ARGS="--timeout 60" any other setting (GUNICORN_CMD_ARGS and
the command line take precedence over this file).

Measured on the 2-core machine with PostgreSQL and 228 real articles (scripts/load_test.py,
60 s per rate; figures in README.md, "Serving"): three sync workers sustained the most, with the
lowest latency. gthread lost at every thread count: the search is CPU-bound Python, so the
threads of one process share one core under the GIL, and its workers accept connections even
when busy, queueing requests behind a slow search while another worker has a core free.
"""

from __future__ import annotations

import logging
import os

# One request at a time per process; an idle worker takes the next connection from the kernel,
# so no request waits behind another while a core is free.
worker_class = "sync"
# threads > 1 would silently turn "sync" into gthread.
threads = 1
# Two cores plus one: while a worker waits on PostgreSQL another keeps the core busy. A fourth
# adds ~240 MB (each worker keeps its own jieba dictionary and index caches) for no more
# throughput. WEB_CONCURRENCY is gunicorn's own variable; its built-in default is 1.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Connections waiting for a free worker wait here, in the kernel. Sized to hold about
# REQUEST_QUEUE_TIMEOUT_MS (5 s) of a 100 req/s peak, so stale requests are shed with a 503 by
# portal/middleware.py before it overflows; past it, new connections are refused by the kernel
# rather than queued without bound.
backlog = 512
# A sync worker still busy after this long is killed and replaced: its reader gave up long ago
# (clients wait ~10 s) and the slowest search takes about a second.
timeout = 30
# On SIGTERM/HUP running requests get this long to finish; under docker's 10 s stop grace period
# so the master exits cleanly before it would be SIGKILLed.
graceful_timeout = 8
# Sync workers close after every response; this applies if GUNICORN_CMD_ARGS switches to
# gthread, where every idle kept-alive socket counts against worker_connections.
keepalive = 5
# Recycle a worker now and then to bound slow memory growth (jieba, haystack; the segment LRU is
# bounded but fragments); rare, because a fresh worker must warm up first (post_worker_init).
max_requests = 20000
# So the three workers, started together, are not recycled together.
max_requests_jitter = 4000
# The default control socket is one fixed path per user: a second gunicorn on the machine (tests,
# another checkout) would take it over, and we do not use gunicornc.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Load jieba and the index before the worker accepts its first connection.

    A cold worker spends about 3 s of CPU on its first search; done here, the requests after a
    start or a max_requests restart do not wait for it (the other workers serve meanwhile).
    """
    from django.db import connections

    from search.selectors import SearchParams, article_search

    try:
        article_search(params=SearchParams(q="数据安全 政策"))
    except Exception:
        # An empty or missing index must not keep the site from starting.
        logging.getLogger("portal.gunicorn").warning("search warm-up failed", exc_info=True)
    finally:
        connections.close_all()
