"""Gunicorn's gthread worker, telling the application how long each request waited for a thread.

How gthread queues (gunicorn 27, ``gunicorn/workers/gthread.py``): the worker's main thread
polls the listening socket and accepts every connection as soon as it arrives, as long as the
worker holds fewer than ``worker_connections`` of them (``ThreadWorker.run``/``accept``). Each
accepted connection goes straight to ``enqueue_req``, which submits it to a
``concurrent.futures.ThreadPoolExecutor`` of ``threads`` threads. That executor's work queue
is unbounded, and a kept-alive connection that becomes readable again goes through
``enqueue_req`` too. So when every thread is busy, requests wait *inside the worker*, already
accepted: the kernel's listen backlog stays nearly empty, the client sees a connected socket
and no answer, and nothing ages the queue. A request that has waited 30 s, long after its
client gave up, is run exactly like a fresh one, and the fresh ones wait behind it: under
sustained overload the queue only grows.

This worker stamps a connection when it enters the executor's queue and, when a pool thread
takes it, hands the wait to the application as ``environ["portal.queue_wait"]`` (seconds).
``portal.middleware.QueueTimeoutMiddleware`` answers a request that waited longer than
``REQUEST_QUEUE_TIMEOUT_MS`` with an immediate 503 instead of running it, so a backlog is
cleared at the cost of a few hundred microseconds per stale request and fresh requests get
the threads again.

Only the wait for a thread is measured, not the time a client takes to send its headers: a
long wait for a thread means the server is over capacity, which is what the 503 says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from portal.middleware import QUEUE_WAIT_ENVIRON_KEY

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class QueueTimingThreadWorker(ThreadWorker):
    def enqueue_req(self, conn: Any) -> None:
        # Runs on the main thread each time a connection (new or kept alive) waits for a thread.
        conn.portal_queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        # Runs on the pool thread that took the connection: its wait ends here.
        queued_at = getattr(conn, "portal_queued_at", None)
        self._waits.value = None if queued_at is None else time.monotonic() - queued_at
        return super().handle(conn)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        # The environ is built deep inside ThreadWorker.handle_request on the same thread,
        # so the wait travels there in a thread-local and the application is wrapped to read it.
        self._waits = threading.local()
        self.wsgi = self._queue_wait_app(self.wsgi)

    def _queue_wait_app(self, app: WSGIApp) -> WSGIApp:
        waits = self._waits

        def app_with_queue_wait(environ: dict[str, Any], start_response: Callable[..., Any]):
            waited = getattr(waits, "value", None)
            if waited is not None:
                # Once per dequeued connection: later requests read from the same connection
                # without queueing again (HTTP/2 streams) must not inherit it.
                waits.value = None
                environ[QUEUE_WAIT_ENVIRON_KEY] = waited
            return app(environ, start_response)

        return app_with_queue_wait
