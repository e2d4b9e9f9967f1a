"""Load shedding: a request that waited too long to be read by a worker gets a fast 503.

How requests queue in gunicorn (27, read in ``gunicorn/workers/``):

- sync workers (what portal/gunicorn.conf.py runs) accept a connection only when idle. While all
  are busy, new connections wait in the kernel's listen backlog, already established: the client
  has sent its request and waits. Nothing ages that queue; a request that waited 30 s, long after
  its reader gave up, is run exactly like a fresh one, and the fresh ones wait behind it.
- gthread workers accept every connection at once (up to ``worker_connections``) and queue it in
  an unbounded ``ThreadPoolExecutor`` queue until a thread is free: the same problem in user space.

Either way, the request's bytes have been sitting in the kernel's receive buffer since they
arrived. Linux reports that age for a TCP socket: ``TCP_INFO``'s ``tcpi_last_data_recv`` is the
number of milliseconds since the last data segment was received. When Django runs the first
middleware the worker has just read the request, so that age is how long the request waited for
a worker (in the backlog, in a thread queue, or behind an earlier request on the same
connection) plus a fraction of a millisecond of parsing. A request older than
``REQUEST_QUEUE_TIMEOUT_MS`` is answered 503 with Retry-After without running any view, which
costs about a millisecond, so a backlog of stale requests drains fast and fresh ones get the
workers again.

Where the age cannot be read (not Linux, a Unix socket, runserver, the test client) nothing is
shed. Behind a reverse proxy the age is that of the proxy's request to us, which is what counts.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# struct tcp_info (linux/tcp.h): eight one-byte fields, then u32s; tcpi_last_data_recv is the
# twelfth u32. The layout only ever grows at the end, so the offset is stable.
TCP_INFO_LAST_DATA_RECV = struct.Struct("=I")
TCP_INFO_LAST_DATA_RECV_OFFSET = 52
TCP_INFO_READ_SIZE = 104
# Long enough for a burst to drain (at capacity the workers clear a backlog within seconds),
# short enough that a reader who retries does not feel abandoned.
RETRY_AFTER_SECONDS = 5
OVERLOADED_BODY = "服务器繁忙，请稍后再试。\n"
# Under overload there can be hundreds of shed requests a second: one summary line at most this often.
LOG_INTERVAL_SECONDS = 10.0

logger = logging.getLogger(__name__)


def request_queue_age(request: HttpRequest) -> float | None:
    """Seconds since the request's last byte arrived, or None where the kernel cannot say."""
    sock = request.META.get("gunicorn.socket")
    option = getattr(socket, "TCP_INFO", None)
    if sock is None or option is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, TCP_INFO_READ_SIZE)
    except (OSError, AttributeError, TypeError):
        return None
    if len(info) < TCP_INFO_LAST_DATA_RECV_OFFSET + TCP_INFO_LAST_DATA_RECV.size:
        return None
    (milliseconds,) = TCP_INFO_LAST_DATA_RECV.unpack_from(info, TCP_INFO_LAST_DATA_RECV_OFFSET)
    return milliseconds / 1000


class QueueTimeoutMiddleware:
    """Answers 503 with Retry-After, without running the view, when a request waited over the limit.

    Must be the first middleware, so that a shed request costs as little as possible.
    ``REQUEST_QUEUE_TIMEOUT_MS = 0`` turns shedding off.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit = settings.REQUEST_QUEUE_TIMEOUT_MS / 1000
        self._lock = threading.Lock()
        self._shed_since_log = 0
        self._last_log = 0.0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.limit > 0:
            waited = request_queue_age(request)
            if waited is not None and waited >= self.limit:
                self._shed_note(waited)
                return overloaded_response()
        return self.get_response(request)

    def _shed_note(self, waited: float) -> None:
        with self._lock:
            self._shed_since_log += 1
            now = time.monotonic()
            if now - self._last_log < LOG_INTERVAL_SECONDS:
                return
            count, self._shed_since_log, self._last_log = self._shed_since_log, 0, now
        logger.warning(
            "over capacity: answered 503 to %d request(s) that waited over %d ms for a worker "
            "(the latest waited %d ms)",
            count,
            self.limit * 1000,
            waited * 1000,
        )


def overloaded_response() -> HttpResponse:
    response = HttpResponse(OVERLOADED_BODY, status=503, content_type="text/plain; charset=utf-8")
    # Set here because the middleware that would add it runs after this one: no chunked encoding.
    response["Content-Length"] = str(len(response.content))
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Counted and logged above, once per interval; Django would log every one of them as an error.
    response._has_been_logged = True
    return response
