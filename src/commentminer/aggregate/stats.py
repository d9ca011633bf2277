"""Small statistics helpers for aggregates: confidence intervals for a mean score.

Method (stated in the report): a two-sided Student-t interval for the mean of per-comment scores,
    mean ± t(1 - α/2, n - 1) · s / √n,     s = sample standard deviation (n - 1 denominator),
clipped to [-1, 1] because scores cannot leave that range. Each comment is one observation; several comments
by one commenter are treated as independent, which makes intervals somewhat too narrow when one person writes
a lot (a reason the report greys out regions with few distinct commenters). n < 2 gives no interval.
A t-interval was chosen over a bootstrap because it is deterministic, cheap, and checkable by hand.
"""

from __future__ import annotations

import math

INTERVAL_METHOD = (
    "95% Student-t interval for the mean comment score (mean ± t·s/√n, clipped to [-1, 1]); "
    "comments are treated as independent observations; no interval when a group has fewer than 2 comments."
)


def t_quantile(probability: float, dof: int) -> float:
    """Quantile of Student's t distribution (scipy is a dependency of scikit-learn, so always present)."""
    from scipy.stats import t  # imported here: scipy.stats is slow to import and only reports need it

    return float(t.ppf(probability, dof))


def mean_interval(n: int, mean: float | None, sd: float | None, level: float = 0.95,
                  bounds: tuple[float, float] = (-1.0, 1.0)) -> tuple[float | None, float | None]:
    """(low, high) t-interval for a mean from its count, mean and sample standard deviation.

    Returns (None, None) when n < 2 or the inputs are missing: one observation says nothing about spread.
    """
    if n is None or n < 2 or mean is None or sd is None or _isnan(mean) or _isnan(sd):
        return None, None
    half = t_quantile(1 - (1 - level) / 2, n - 1) * sd / math.sqrt(n)
    return max(bounds[0], mean - half), min(bounds[1], mean + half)


def _isnan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)
