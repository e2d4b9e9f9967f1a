"""The fault tests' stack restarts a worker that exits by itself, as a deployment's supervisor
(docker-compose's `restart: unless-stopped`) does; one the test kills stays down."""

from __future__ import annotations

import os
import signal

import pytest

from .stack import children_of, wait_for

pytestmark = [pytest.mark.faults]


def test_a_worker_that_exits_by_itself_is_started_again_and_one_killed_on_purpose_is_not(faults):
    faults.redis.start()
    stack = faults.stack
    worker = stack.worker(name="index", queue="index", concurrency=1)
    os.kill(worker.pid, signal.SIGTERM)  # the worker shuts down on its own account
    assert wait_for(lambda: stack.restarts == ["worker-index exited (0)"], timeout=30), stack.restarts
    (restarted,) = [p for p in stack.processes if p.poll() is None]
    assert wait_for(lambda: bool(children_of(restarted.pid)), timeout=60)

    stack.kill_all(restarted)
    assert not wait_for(lambda: len(stack.restarts) > 1, timeout=3)
