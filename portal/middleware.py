"""Load shedding: a request that waited too long for a server thread gets a fast 503.

The wait is measured by the web server, not here: ``portal.gunicorn_worker`` puts the seconds a
request spent queued for a thread into ``environ["portal.queue_wait"]`` (its docstring explains
where gunicorn's gthread worker queues). Without that key (runserver, the test client, another
server) nothing is ever shed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

QUEUE_WAIT_ENVIRON_KEY = "portal.queue_wait"
# Long enough for a burst to drain (at capacity a worker clears its queue within seconds), short
# enough that a reader who retries does not feel abandoned.
RETRY_AFTER_SECONDS = 5
OVERLOADED_BODY = "服务器繁忙，请稍后再试。\n"
# Under overload there can be hundreds of shed requests a second: one summary line at most this often.
LOG_INTERVAL_SECONDS = 10.0

logger = logging.getLogger(__name__)


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
        waited = request.META.get(QUEUE_WAIT_ENVIRON_KEY)
        if self.limit > 0 and waited is not None and waited >= self.limit:
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
            "over capacity: answered 503 to %d request(s) that waited over %d ms for a thread "
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
