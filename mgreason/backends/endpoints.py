"""Several OpenAI-compatible servers of one model (``base_urls: [...]``): which one gets the next request.

Each endpoint has its own concurrency (requests in flight) and a health state. A request goes to the healthy
endpoint with the fewest requests in flight (ties: round robin); an endpoint that fails a request with a connection
error, a timeout or a retryable HTTP status is set aside for a cool-down that doubles with each consecutive failure
(up to ``max_cooldown_s``) and the request is retried elsewhere at once; a success clears its record. When every
endpoint is cooling down, the one that recovers first is tried. So a replica that goes away mid-sweep costs its
in-flight requests one retry each, on the other replicas, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Endpoint:
    base_url: str  # .../v1
    root_url: str  # the server root (vLLM's /tokenize lives there)
    concurrency: int
    inflight: int = 0
    failures: int = 0  # consecutive
    down_until: float = 0.0
    served: int = 0
    failed: int = 0
    sem: Optional[asyncio.Semaphore] = field(default=None, repr=False)

    def healthy(self, now: float) -> bool:
        return self.down_until <= now


class EndpointPool:
    """The endpoints of one backend for one event loop (semaphores belong to a loop: make one per run)."""

    def __init__(self, endpoints: list[Endpoint], cooldown_s: float = 2.0, max_cooldown_s: float = 60.0):
        if not endpoints:
            raise ValueError("no endpoints")
        self.endpoints = endpoints
        for e in endpoints:
            e.sem = asyncio.Semaphore(e.concurrency)
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self._rr = itertools.count()

    def pick(self, exclude: Optional[Endpoint] = None) -> Endpoint:
        """The endpoint for the next attempt (``exclude``: the one that just failed, when there is another)."""
        now = time.monotonic()
        cands = [e for e in self.endpoints if e.healthy(now) and e is not exclude]
        if not cands:
            cands = [e for e in self.endpoints if e is not exclude] or list(self.endpoints)
            return min(cands, key=lambda e: e.down_until)
        low = min(e.inflight / e.concurrency for e in cands)
        best = [e for e in cands if e.inflight / e.concurrency == low]
        return best[next(self._rr) % len(best)]

    def failed(self, e: Endpoint) -> None:
        e.failures += 1
        e.failed += 1
        e.down_until = time.monotonic() + min(self.max_cooldown_s, self.cooldown_s * 2 ** (e.failures - 1))

    def succeeded(self, e: Endpoint) -> None:
        e.failures = 0
        e.down_until = 0.0
        e.served += 1

    def any_healthy_besides(self, e: Endpoint) -> bool:
        now = time.monotonic()
        return any(x is not e and x.healthy(now) for x in self.endpoints)


__all__ = ["Endpoint", "EndpointPool"]
