"""Gunicorn settings for the portal: docker-compose's web service and `make serve`.

    gunicorn -c portal/gunicorn.conf.py -b 0.0.0.0:8000 portal.wsgi

Workers and threads change without editing this file, the way gunicorn reads them itself:
WEB_CONCURRENCY=3 sets the worker count, GUNICORN_CMD_ARGS="--threads 6" any other setting
(GUNICORN_CMD_ARGS and the command line take precedence over this file).
"""

from __future__ import annotations

import logging
import os

# gthread, with a wait measurement that lets the portal shed requests that queued too long
# (portal/gunicorn_worker.py explains the queue, portal/middleware.py the 503).
worker_class = "portal.gunicorn_worker.QueueTimingThreadWorker"
# gunicorn's own variable; its built-in default (1) would leave one of the two cores idle.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Search is CPU-bound Python under the GIL; threads only help while another one waits on the
# database, and each worker process keeps its own index caches, so more threads, not processes.
threads = 4
# Queued work is aged and shed by the middleware; this caps how many sockets a worker holds
# (queued plus kept alive) so a flood waits in the small kernel backlog below, not in memory.
worker_connections = 200
# Connections the kernel holds for us once every worker is at worker_connections: beyond this
# the client is refused quickly instead of waiting in a queue nobody ages.
backlog = 128
# gthread's main thread notifies the arbiter about once a second even while requests run, so
# this only fires for a worker that is truly stuck (a long request does not trip it).
timeout = 30
# On SIGTERM/HUP running requests get this long to finish; below docker's 10 s stop grace period
# so the master exits cleanly before it would be SIGKILLed.
graceful_timeout = 8
# Browsers reuse a connection for the page's follow-up requests; short, because every idle
# kept-alive socket counts against worker_connections.
keepalive = 5
# Recycle a worker now and then to bound slow memory growth (jieba, haystack, the segment LRU is
# bounded but fragments); rare, because a fresh worker must warm up (post_worker_init below).
max_requests = 20000
# So the two workers, started together, are not recycled together.
max_requests_jitter = 4000
# The default control socket is one fixed path per user: a second gunicorn on the machine (tests,
# another checkout) would take it over, and we do not use gunicornc.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Load jieba, OpenCC and the index before the worker accepts its first connection.

    A cold worker spends about 3 s of CPU on its first search; done here, a worker restarted by
    max_requests does not stall the requests it has already accepted.
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
