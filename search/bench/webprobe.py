"""A fresh web process for the benchmark: what one gunicorn worker costs on the index.

Started with the ``spawn`` method (a new interpreter, nothing inherited from the builder), it
warms as gunicorn's ``post_worker_init`` does, times the first run of every query of the mix,
runs the mix, and reports its memory. Then, after the builder has committed a small change
(as the index worker does while the site serves), it times the first run of every query
again: what a reader pays right after a commit.

Nothing from Django is imported at module level: the spawned interpreter imports this
module before it has set Django up.
"""

from __future__ import annotations

import time


def _memory() -> dict[str, int]:
    """Resident memory (bytes) from /proc: all of it, and the anonymous part (what is this
    process's own, beyond the page cache that memory-mapped index files share)."""
    wanted = {"Rss": "rss", "Pss": "pss", "Anonymous": "anonymous"}
    out = dict.fromkeys(wanted.values(), 0)
    try:
        with open("/proc/self/smaps_rollup") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in wanted:
                    out[wanted[key]] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return out


def _timed(call, query) -> float:
    started = time.perf_counter()
    call(query)
    return (time.perf_counter() - started) * 1000


def probe_main(conn, alias: str, connection: dict, database: str) -> None:
    """The spawned process: set up, receive the work, answer twice (see the module docstring).
    ``database``: the name of the builder's database (under the tests, the test database)."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    settings.HAYSTACK_CONNECTIONS[alias] = connection
    settings.DATABASES["default"]["NAME"] = database
    connections["default"].settings_dict["NAME"] = database  # (not connected yet)
    from search.selectors import search_warm

    from .calls import ours_search_call

    pool, queries, seed, repeat = conn.recv()
    call = ours_search_call(alias=alias, pool=pool, seed=seed)
    started = time.perf_counter()
    search_warm(using=alias)
    warm_ms = (time.perf_counter() - started) * 1000
    first = [_timed(call, q) for q in queries]
    mix = [_timed(call, q) for _ in range(repeat) for q in queries]
    conn.send({"warm_ms": warm_ms, "first_ms": first, "mix_ms": mix, **_memory()})
    conn.recv()  # the builder committed
    conn.send({"after_commit_ms": [_timed(call, q) for q in queries]})
    conn.close()
