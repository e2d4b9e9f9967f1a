"""QueueTimeoutMiddleware: the kernel's age of the request decides, the view never runs when shed."""

from __future__ import annotations

import socket
import struct
import sys
import time

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from portal.middleware import (
    OVERLOADED_BODY,
    RETRY_AFTER_SECONDS,
    QueueTimeoutMiddleware,
    request_queue_age,
)


class View:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.calls += 1
        return HttpResponse("ok")


class AgedSocket:
    """Answers TCP_INFO as Linux does for a request whose last byte arrived ``age`` seconds ago."""

    def __init__(self, age: float) -> None:
        self.age = age

    def getsockopt(self, level: int, option: int, size: int) -> bytes:
        info = bytearray(size)
        struct.pack_into("=I", info, 52, round(self.age * 1000))
        return bytes(info)


def request_after(waited: float | None) -> HttpRequest:
    extra = {} if waited is None else {"gunicorn.socket": AgedSocket(waited)}
    return RequestFactory().get("/search/", **extra)


@override_settings(REQUEST_QUEUE_TIMEOUT_MS=2000)
def test_it_answers_503_without_running_the_view_when_the_wait_reached_the_limit():
    view = View()
    response = QueueTimeoutMiddleware(view)(request_after(2.5))
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == OVERLOADED_BODY
    assert view.calls == 0


@override_settings(REQUEST_QUEUE_TIMEOUT_MS=2000)
@pytest.mark.parametrize("waited", [None, 0.0, 1.999])
def test_it_runs_requests_that_did_not_wait_too_long_or_were_not_measured(waited):
    view = View()
    response = QueueTimeoutMiddleware(view)(request_after(waited))
    assert response.status_code == 200
    assert view.calls == 1


@override_settings(REQUEST_QUEUE_TIMEOUT_MS=0)
def test_a_limit_of_zero_turns_shedding_off():
    view = View()
    assert QueueTimeoutMiddleware(view)(request_after(600.0)).status_code == 200


def test_it_is_the_first_middleware(settings):
    # Anything before it would run for requests that are about to be thrown away.
    assert settings.MIDDLEWARE[0] == "portal.middleware.QueueTimeoutMiddleware"


@override_settings(REQUEST_QUEUE_TIMEOUT_MS=100)
def test_shedding_is_logged_once_per_interval_not_per_request(caplog):
    middleware = QueueTimeoutMiddleware(View())
    with caplog.at_level("WARNING", logger="portal.middleware"):
        for _ in range(50):
            middleware(request_after(0.5))
    assert len(caplog.records) == 1
    assert "over capacity" in caplog.records[0].getMessage()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_INFO's last_data_recv is Linux's")
def test_the_age_is_how_long_the_request_waited_in_the_kernel_before_it_was_read():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname()) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.4)  # nobody accepts: the request waits in the backlog, as under load
            accepted, _ = listener.accept()
            with accepted:
                accepted.recv(1024)
                age = request_queue_age(RequestFactory().get("/", **{"gunicorn.socket": accepted}))
    assert age is not None
    assert 0.35 <= age < 2.0
