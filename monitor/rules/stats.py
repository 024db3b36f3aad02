"""The Poisson upper tail, computed without scipy and accurately for tiny p-values."""

from __future__ import annotations

import math


def poisson_upper_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    log_lam = math.log(lam)
    if k > lam:
        # Sum the tail directly: its terms fall once i > lam, so this converges fast and keeps
        # precision where 1 - CDF would round to zero.
        term = math.exp(-lam + k * log_lam - math.lgamma(k + 1))
        total = term
        i = k
        while term > total * 1e-17 and i < k + 10_000:
            i += 1
            term *= lam / i
            total += term
        return min(1.0, total)
    lower = sum(math.exp(-lam + i * log_lam - math.lgamma(i + 1)) for i in range(k))
    return min(1.0, max(0.0, 1.0 - lower))
