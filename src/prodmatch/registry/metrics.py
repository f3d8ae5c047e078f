"""Prometheus text for `/metrics`: requests and their latency by route, listings, products.

A few counters kept in memory need no client library; the format is Prometheus' plain text
exposition (counters, a histogram with cumulative buckets, gauges).
"""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request counts by (method, route, status) and latency histograms by (method, route)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = {}
        self.sums: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            counts = self.buckets.setdefault((method, route), [0] * (len(BUCKETS) + 1))
            for n, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[n] += 1
            counts[-1] += 1  # +Inf
            self.sums[(method, route)] += seconds

    def render(self, counts: dict[str, int]) -> str:
        lines = [
            "# HELP prodmatch_requests_total HTTP requests by method, route and status.",
            "# TYPE prodmatch_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                labels = f'method="{method}",route="{route}",status="{status}"'
                lines.append(f"prodmatch_requests_total{{{labels}}} {n}")
            lines += [
                "# HELP prodmatch_request_seconds Request latency by method and route.",
                "# TYPE prodmatch_request_seconds histogram",
            ]
            for (method, route), buckets in sorted(self.buckets.items()):
                labels = f'method="{method}",route="{route}"'
                for bound, n in zip([*map(str, BUCKETS), "+Inf"], buckets, strict=True):
                    lines.append(f'prodmatch_request_seconds_bucket{{{labels},le="{bound}"}} {n}')
                lines.append(
                    f"prodmatch_request_seconds_sum{{{labels}}} {self.sums[(method, route)]}"
                )
                lines.append(f"prodmatch_request_seconds_count{{{labels}}} {buckets[-1]}")
        for name in ("listings", "products"):
            lines += [f"# TYPE prodmatch_{name} gauge", f"prodmatch_{name} {counts[name]}"]
        return "\n".join(lines) + "\n"
