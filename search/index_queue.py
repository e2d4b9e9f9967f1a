"""Coalescing on the ``index`` queue: many small index messages, few Whoosh commits.

Why: ingest workers save one article per transaction, so every article became its own
index task and its own Whoosh commit (~70 ms each) and the single index worker fell behind.

How (broker mode only; with eager tasks each flush is indexed directly, as before):

* After the DB commit, the flush takes a stamp ``t`` from Redis, adds the ids to a pending
  set and sends the message ``ids`` + ``t``. Messages stay the source of truth; the set only
  lets one task take on work whose own messages are still waiting in the queue.
* The task takes a stamp ``r`` before it reads any row, drops those of its own ids already
  indexed from a read made after ``t`` (done stamp >= ``t``), pops a bounded chunk of the
  pending set, indexes the union in one commit and, after that commit, records done = ``r``
  for each id.

Why nothing is lost: an id is dropped only when a task that read the rows after the change
committed (its stamp is later than the message's) has committed them to the index. Ids
popped by a task that then dies are still in their own messages, which are acknowledged late.
An expired done key or a lost pending set costs a redundant reindex, never a missing one.

Stamps are Redis server time (``TIME``) in microseconds, kept strictly increasing by a tiny
script that remembers the last one: two stamps never tie (a tie would not say which call came
first), and a step back of the server clock cannot make a later change look older than an
earlier read.

The ordering relies on one consumer of the ``index`` queue (as Whoosh's single writer
already does): tasks run one after another, so each task reads rows later than the last.
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlparse

import redis
from django.conf import settings

from .services import articles_index_sync

logger = logging.getLogger(__name__)

# Most ids one task indexes (its own plus those taken from the pending set), in one commit.
COALESCE_LIMIT = 2000
# A done stamp only saves a redundant reindex; after a day the message has long been handled.
DONE_TTL_SECONDS = 24 * 3600

# Strictly increasing server-time stamp (µs). ``%d`` keeps all 16 digits (``tostring`` would not).
_STAMP_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if now <= last then now = last + 1 end
redis.call('SET', KEYS[1], string.format('%d', now))
if #ARGV > 0 then redis.call('SADD', KEYS[2], unpack(ARGV)) end
return now
"""


def _pending_key() -> str:
    return settings.SEARCH_INDEX_PENDING_KEY


def _clock_key() -> str:
    return f"{_pending_key()}:clock"


def _done_key(pk: int) -> str:
    return f"{_pending_key()}:done:{pk}"


@functools.lru_cache(maxsize=4)
def _redis_for(url: str) -> redis.Redis:
    # One client (and connection pool) per process and URL; redis-py resets the pool after a fork.
    return redis.Redis.from_url(url)


def broker_redis() -> redis.Redis | None:
    """The broker's Redis when index tasks go through it; ``None`` when they run inline."""
    from .tasks import index_articles

    # The Celery app's configuration, not settings: tests and workers point it at another broker.
    conf = index_articles.app.conf
    url = conf.broker_url
    if conf.task_always_eager or not isinstance(url, str):
        return None
    if urlparse(url).scheme not in {"redis", "rediss"}:
        return None
    return _redis_for(url)


def _stamp(client: redis.Redis, *, add_ids: list[int] | tuple[()] = ()) -> int:
    return int(client.eval(_STAMP_LUA, 2, _clock_key(), _pending_key(), *add_ids))


def pending_add(*, client: redis.Redis, ids: list[int]) -> int:
    """Record ``ids`` as pending and return the enqueue stamp; call after the DB commit."""
    return _stamp(client, add_ids=ids)


def articles_index_coalesced(*, ids: list[int], enqueued_at: int) -> dict[str, int]:
    """Index ``ids`` (enqueued at stamp ``enqueued_at``) together with other pending ids, in one commit."""
    client = broker_redis()
    if client is None:
        # Tasks now run inline (a message sent in broker mode, run after a settings change).
        return articles_index_sync(ids=ids)
    # Taken before any row is read: done = read_at promises "rows read after read_at".
    read_at = _stamp(client)
    done = client.mget([_done_key(pk) for pk in ids]) if ids else []
    own = [pk for pk, stamp in zip(ids, done, strict=True) if stamp is None or int(stamp) < enqueued_at]
    room = max(COALESCE_LIMIT - len(own), 0)
    pipe = client.pipeline(transaction=False)
    if own:
        # Indexed now: a later task need not take them from the set. A change committed after
        # read_at is still in its own message, stamped later than the done stamp, so not skipped.
        pipe.srem(_pending_key(), *own)
    if room:
        pipe.spop(_pending_key(), room)
    replies = pipe.execute()
    popped = (replies[-1] or []) if room else []
    union = sorted(set(own) | {int(pk) for pk in popped})
    stats = {"updated": 0, "removed": 0, "dropped": len(ids) - len(own), "taken": len(union) - len(own)}
    if not union:
        return stats
    stats.update(articles_index_sync(ids=union, batch_size=len(union)))
    # Only after the commit: a done stamp tells later messages their change is in the index.
    pipe = client.pipeline(transaction=False)
    for pk in union:
        pipe.set(_done_key(pk), read_at, ex=DONE_TTL_SECONDS)
    pipe.execute()
    return stats
