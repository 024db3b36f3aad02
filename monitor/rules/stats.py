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
    # k <= lam: 1 - P(X < k), the lower terms summed down from k - 1, where they are largest.
    term = math.exp(-lam + (k - 1) * log_lam - math.lgamma(k))
    lower = term
    i = k - 1
    while i > 0 and term > lower * 1e-17:
        term *= i / lam
        i -= 1
        lower += term
    return min(1.0, max(0.0, 1.0 - lower))


def negative_binomial_upper_tail(k: int, mean: float, alpha: float) -> float:
    """P(X >= k) for a negative binomial with this mean and variance mean + alpha * mean**2.

    alpha is the overdispersion: 0 is Poisson. Mentions come in swings (a busy day, a thread that
    takes off), so their hourly counts vary more than Poisson allows; this tail does not mistake
    an ordinary swing for a spike.
    """
    if alpha <= 1e-9:
        return poisson_upper_tail(k, mean)
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    r = 1.0 / alpha
    p = r / (r + mean)  # success probability; P(X = i) = C(i + r - 1, i) p^r (1 - p)^i
    log_q = math.log1p(-p)

    def log_pmf(i: int) -> float:
        return math.lgamma(i + r) - math.lgamma(r) - math.lgamma(i + 1) + r * math.log(p) + i * log_q

    if k > mean:
        term = math.exp(log_pmf(k))
        total = term
        i = k
        while term > total * 1e-17 and i < k + 100_000:
            term *= (i + r) / (i + 1) * (1 - p)
            i += 1
            total += term
        return min(1.0, total)
    # k <= mean: 1 - P(X < k), the lower terms summed down from k - 1 (the mode is near the mean).
    term = math.exp(log_pmf(k - 1))
    lower = term
    i = k - 1
    while i > 0 and term > lower * 1e-17:
        term *= i / ((i - 1 + r) * (1 - p))
        i -= 1
        lower += term
    return min(1.0, max(0.0, 1.0 - lower))
