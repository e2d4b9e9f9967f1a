"""Open-loop load generator for the portal: a mixed read load at a fixed rate, loopback only.

Requests start on schedule whether or not earlier ones have finished, so when the server falls
behind, its queue shows up as latency, timeouts and shed requests instead of being hidden by a
client that politely waits (closed-loop generators slow down exactly when the server does).

    python scripts/load_test.py --url http://127.0.0.1:8000 --rate 30 --duration 60
    python scripts/load_test.py --url http://127.0.0.1:8000 --find-max --start-rate 10 --step 5

The mix resembles real use: search pages (words, two words, quoted phrases, source and year
filters, newest first, page 2), the JSON search API, article pages and the article API, the
home page and feeds. Article ids, source names, years and query words come from the target
itself (the API, the home page's keyword links and article titles), so the same script works on
any ingested database.

Standard library only, so it runs from any Python 3.11 without the project's environment.
Exit status: 0 when every request was answered with 2xx/3xx in time, 1 otherwise, 2 when the
target was refused or could not be prepared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import resource
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

# The sibling module; run as a script, this file's folder is first on sys.path.
from load_site import (
    DiscoveryFailed,
    Target,
    TargetRefused,
    http_get,
    mix_build,
    site_discover,
    target_parse,
)

# Hard caps so a typo cannot turn into an unbounded run.
MAX_RATE = 2000.0
MAX_DURATION = 3600.0
ERROR_KINDS = ("status_5xx", "status_other", "timeout", "connection", "not_sent")
ERROR_LABELS = {
    "status_5xx": "HTTP 5xx",
    "status_other": "other non-2xx/3xx",
    "timeout": "timeouts",
    "connection": "connection errors",
    "not_sent": "not sent (client limit)",
}


# --- one run ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    latency: float  # seconds from the scheduled start
    status: int | None = None
    error: str | None = None  # one of ERROR_KINDS


@dataclass
class RunResult:
    rate: float
    duration: float
    timeout: float
    outcomes: list[Outcome]
    started: int
    max_lag: float  # how late the generator started its latest request

    def errors(self) -> Counter:
        return Counter(o.error for o in self.outcomes if o.error)

    def answered(self) -> list[float]:
        return sorted(o.latency for o in self.outcomes if o.status is not None)

    def older_than_timeout(self) -> int:
        # Unanswered in time, or answered after the client would have given up.
        return sum(1 for o in self.outcomes if o.error == "timeout" or o.latency >= self.timeout)

    def summary(self) -> dict:
        latencies = self.answered()
        ok = sum(1 for o in self.outcomes if o.error is None)
        errors = self.errors()
        return {
            "requested_rps": self.rate,
            "duration_s": self.duration,
            "started": self.started,
            "achieved_rps": round(self.started / self.duration, 2),
            "completed": len(latencies),
            "ok": ok,
            "ok_rps": round(ok / self.duration, 2),
            "errors": {kind: errors.get(kind, 0) for kind in ERROR_KINDS},
            "error_total": sum(errors.values()),
            "older_than_timeout": self.older_than_timeout(),
            "timeout_s": self.timeout,
            "latency_ms": latency_summary(latencies),
            "max_generator_lag_ms": round(self.max_lag * 1000, 1),
            "by_kind": {
                kind: {
                    "count": len(items),
                    "errors": sum(1 for o in items if o.error),
                    **latency_summary(sorted(o.latency for o in items if o.status is not None)),
                }
                for kind, items in group_by_kind(self.outcomes).items()
            },
        }


def group_by_kind(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.kind, []).append(outcome)
    return groups


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return math.nan
    index = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[index]


def latency_summary(sorted_seconds: list[float]) -> dict[str, float | None]:
    if not sorted_seconds:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    return {
        "p50": round(percentile(sorted_seconds, 50) * 1000, 1),
        "p95": round(percentile(sorted_seconds, 95) * 1000, 1),
        "p99": round(percentile(sorted_seconds, 99) * 1000, 1),
        "max": round(sorted_seconds[-1] * 1000, 1),
    }


def classify(status: int) -> str | None:
    if 200 <= status < 400:
        return None
    return "status_5xx" if status >= 500 else "status_other"


async def run_at_rate(
    target: Target,
    mix: list[tuple[str, float, Callable[[], str]]],
    *,
    rate: float,
    duration: float,
    timeout: float,
    rng: random.Random,
    poisson: bool,
    max_in_flight: int,
    progress_every: float,
    label: str = "",
) -> RunResult:
    loop = asyncio.get_running_loop()
    kinds = [kind for kind, _, _ in mix]
    weights = [weight for _, weight, _ in mix]
    makers = {kind: maker for kind, _, maker in mix}
    outcomes: list[Outcome] = []
    tasks: set[asyncio.Task] = set()
    in_flight = 0
    max_lag = 0.0

    async def one(kind: str, path: str, scheduled: float) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            # The client gives up `timeout` seconds after it meant to send, like a reader would.
            async with asyncio.timeout_at(scheduled + timeout):
                status, _ = await http_get(target, path)
            outcomes.append(Outcome(kind, loop.time() - scheduled, status, classify(status)))
        except TimeoutError:
            outcomes.append(Outcome(kind, loop.time() - scheduled, error="timeout"))
        except (OSError, ConnectionError, ValueError):
            outcomes.append(Outcome(kind, loop.time() - scheduled, error="connection"))
        finally:
            in_flight -= 1

    async def report() -> None:
        seen = 0
        while True:
            await asyncio.sleep(progress_every)
            window = sorted(o.latency for o in outcomes[seen:] if o.status is not None)
            errors = sum(1 for o in outcomes if o.error)
            seen = len(outcomes)
            p95 = percentile(window, 95) * 1000 if window else math.nan
            print(
                f"{label}{loop.time() - start:5.0f}s  started {started:6d}  answered {len(outcomes):6d}  "
                f"in flight {in_flight:4d}  errors {errors:5d}  p95 of the last {progress_every:.0f} s "
                f"{p95:6.0f} ms",
                file=sys.stderr,
                flush=True,
            )

    total = int(rate * duration)
    start = loop.time() + 0.05
    reporter = asyncio.create_task(report()) if progress_every > 0 else None
    started = 0
    scheduled = start
    for index in range(total):
        if not poisson:
            scheduled = start + index / rate
        elif index:
            scheduled += rng.expovariate(rate)
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        max_lag = max(max_lag, loop.time() - scheduled)
        kind = rng.choices(kinds, weights)[0]
        if in_flight >= max_in_flight:
            outcomes.append(Outcome(kind, 0.0, error="not_sent"))
            continue
        task = asyncio.create_task(one(kind, makers[kind](), scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        started += 1
    if tasks:
        await asyncio.wait(set(tasks))  # each ends by its own deadline
    if reporter:
        reporter.cancel()
    return RunResult(rate, duration, timeout, outcomes, started, max_lag)


# --- output ---------------------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def summary_print(summary: dict) -> None:
    lat = summary["latency_ms"]
    print()
    print(f"requested rate   {summary['requested_rps']:.1f} req/s for {summary['duration_s']:.0f} s")
    print(f"achieved rate    {summary['achieved_rps']:.1f} req/s started, {summary['ok_rps']:.1f} req/s ok")
    print(f"completed        {summary['completed']} answered of {summary['started']} started")
    print(f"errors           {summary['error_total']}")
    for kind in ERROR_KINDS:
        print(f"  {ERROR_LABELS[kind]:<24}{summary['errors'][kind]}")
    print(
        f"latency (ms)     p50 {fmt_ms(lat['p50'])}  p95 {fmt_ms(lat['p95'])}  "
        f"p99 {fmt_ms(lat['p99'])}  max {fmt_ms(lat['max'])}  (answered requests, from scheduled start)"
    )
    print(f"older than {summary['timeout_s']:.0f} s  {summary['older_than_timeout']}")
    print(f"generator lag    max {summary['max_generator_lag_ms']:.0f} ms")
    print()
    print(f"{'kind':<18}{'count':>7}{'errors':>8}{'p50':>8}{'p95':>8}{'p99':>8}")
    for kind, row in sorted(summary["by_kind"].items(), key=lambda item: -item[1]["count"]):
        print(
            f"{kind:<18}{row['count']:>7}{row['errors']:>8}{fmt_ms(row['p50']):>8}"
            f"{fmt_ms(row['p95']):>8}{fmt_ms(row['p99']):>8}"
        )


STEP_HEADER = (
    f"{'rate':>6}{'achieved':>10}{'ok/s':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
    f"{'errors':>8}{'late':>6}  verdict"
)


def step_row(summary: dict, verdict: str) -> str:
    lat = summary["latency_ms"]
    return (
        f"{summary['requested_rps']:>6.0f}{summary['achieved_rps']:>10.1f}{summary['ok_rps']:>8.1f}"
        f"{fmt_ms(lat['p50']):>8}{fmt_ms(lat['p95']):>8}{fmt_ms(lat['p99']):>8}{fmt_ms(lat['max']):>8}"
        f"{summary['error_total']:>8}{summary['older_than_timeout']:>6}  {verdict}"
    )


def step_verdict(summary: dict, *, p95_limit_ms: float) -> str:
    if summary["error_total"] or summary["older_than_timeout"]:
        return "errors"
    if summary["latency_ms"]["p95"] is not None and summary["latency_ms"]["p95"] > p95_limit_ms:
        return "p95 over limit"
    if summary["achieved_rps"] < 0.95 * summary["requested_rps"]:
        return "generator fell behind"
    return "ok"


# --- main --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="loopback only")
    parser.add_argument("--rate", type=float, default=20.0, help="requests started per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--timeout", type=float, default=10.0, help="client timeout in seconds")
    parser.add_argument(
        "--poisson", action="store_true", help="random (Poisson) arrivals at the same mean rate"
    )
    parser.add_argument("--seed", type=int, default=1, help="for the mix and the discovered words")
    parser.add_argument("--progress", type=float, default=5.0, help="seconds between progress lines; 0: none")
    parser.add_argument("--max-in-flight", type=int, default=4000, help="client-side cap on open requests")
    parser.add_argument("--json", dest="json_path", help="also write the summary (or the steps) here")
    parser.add_argument("--find-max", action="store_true", help="step the rate up until a step fails")
    parser.add_argument("--start-rate", type=float, default=10.0)
    parser.add_argument("--step", type=float, default=5.0, help="rate added per step")
    parser.add_argument("--max-rate", type=float, default=200.0, help="stop stepping here")
    parser.add_argument("--step-duration", type=float, default=20.0, help="seconds per step")
    parser.add_argument("--p95-limit-ms", type=float, default=1000.0, help="a step whose p95 is above fails")
    args = parser.parse_args(argv)
    top = args.max_rate if args.find_max else args.rate
    if not 0 < top <= MAX_RATE or not 0 < args.start_rate <= MAX_RATE:
        parser.error(f"rates must be between 0 and {MAX_RATE:.0f} req/s")
    length = args.step_duration if args.find_max else args.duration
    if not 0 < length <= MAX_DURATION or args.timeout <= 0 or args.step <= 0:
        parser.error(f"durations and the timeout must be positive, at most {MAX_DURATION:.0f} s")
    return args


def fd_limit_raise() -> int:
    """Open-loop requests can pile up to rate x timeout sockets: use the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


async def main_async(args: argparse.Namespace) -> int:
    target = target_parse(args.url)
    rng = random.Random(args.seed)
    fds = fd_limit_raise()
    max_in_flight = min(args.max_in_flight, max(16, fds - 64))
    print(f"target {target.base}: learning ids, sources and words ...", file=sys.stderr, flush=True)
    site = await site_discover(target, rng=rng, timeout=args.timeout)
    print(
        f"found {len(site.article_ids)} article ids, {len(site.sources)} sources, {len(site.years)} years, "
        f"{len(site.words)} words, {len(site.phrases)} phrases",
        file=sys.stderr,
        flush=True,
    )
    mix = mix_build(site, rng)
    common = {
        "timeout": args.timeout,
        "rng": rng,
        "poisson": args.poisson,
        "max_in_flight": max_in_flight,
        "progress_every": args.progress,
    }
    if not args.find_max:
        result = await run_at_rate(target, mix, rate=args.rate, duration=args.duration, **common)
        summary = result.summary()
        summary_print(summary)
        if args.json_path:
            with open(args.json_path, "w", encoding="utf-8") as out:
                json.dump(summary, out, ensure_ascii=False, indent=2)
        return 1 if summary["error_total"] or summary["older_than_timeout"] else 0

    steps: list[dict] = []
    best: float | None = None
    rate = args.start_rate
    print(STEP_HEADER)
    while rate <= args.max_rate + 1e-9:
        result = await run_at_rate(
            target, mix, rate=rate, duration=args.step_duration, label=f"[{rate:.0f}/s] ", **common
        )
        summary = result.summary()
        verdict = step_verdict(summary, p95_limit_ms=args.p95_limit_ms)
        steps.append({**summary, "verdict": verdict})
        print(step_row(summary, verdict), flush=True)
        if verdict != "ok":
            break
        best = rate
        rate += args.step
        await asyncio.sleep(2.0)  # let the server's queues drain between steps
    print()
    if best is None:
        print(
            f"no sustainable rate from {args.start_rate:.0f} req/s up (p95 limit {args.p95_limit_ms:.0f} ms)"
        )
    else:
        print(
            f"highest sustainable rate: {best:.0f} req/s (steps of {args.step_duration:.0f} s, "
            f"p95 ≤ {args.p95_limit_ms:.0f} ms, no errors)"
        )
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as out:
            json.dump({"best_rps": best, "steps": steps}, out, ensure_ascii=False, indent=2)
    return 0 if best is not None else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(main_async(args))
    except TargetRefused as exc:
        print(f"load_test: {exc}", file=sys.stderr)
        return 2
    except (DiscoveryFailed, OSError, TimeoutError) as exc:
        print(f"load_test: could not prepare the run against {args.url}: {exc!r}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
