"""Significance of estimates: two-sided normal p-values and the stars that mark them.

One definition for every table the package prints (:meth:`CalibrationResult.table
<migravity.engine.result.CalibrationResult.table>` and the model ladder of
:mod:`migravity.analysis.ladder`). The p-value is ``P(|Z| > |z|) = erfc(|z| / sqrt(2))``
(:func:`math.erfc`: no SciPy import for one tail probability).
"""

from __future__ import annotations

import math

#: Thresholds of the stars, most significant first.
STAR_LEVELS: tuple[tuple[float, str], ...] = ((0.01, "***"), (0.05, "**"), (0.1, "*"))

#: The legend of the stars, as printed under a table.
STARS_LEGEND = "*** p<0.01, ** p<0.05, * p<0.1"


def p_value(z: float) -> float:
    """Two-sided p-value of a standard-normal statistic: ``erfc(|z| / sqrt(2))``.

    Parameters
    ----------
    z : float
        The statistic (estimate / standard error).

    Returns
    -------
    float
        NaN when ``z`` is NaN.
    """
    z = float(z)
    if math.isnan(z):
        return math.nan
    return math.erfc(abs(z) / math.sqrt(2.0))


def stars(p: float) -> str:
    """Significance stars of a p-value: ``"***"`` below 0.01, ``"**"`` below 0.05, ``"*"`` below 0.1.

    Parameters
    ----------
    p : float
        The p-value (NaN gets no star).

    Returns
    -------
    str
    """
    for level, mark in STAR_LEVELS:
        if p < level:
            return mark
    return ""
