"""Short reprs of result objects: a headline line and a few indented lines, never a dump of arrays."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MAX_LINES", "decision_lines", "estimate", "short_repr"]

#: Indented lines shown at most (the rest are counted in a last line).
MAX_LINES = 12


def estimate(value: float, std_error: float | None = None) -> str:
    """``value (SE)`` with 4 significant digits (``n/a`` for NaN; no SE when it is missing or NaN)."""
    v = float(value)
    text = "n/a" if not math.isfinite(v) else f"{v:.4g}"
    if std_error is not None and math.isfinite(float(std_error)):
        text += f" ({float(std_error):.3g})"
    return text


def decision_lines(decisions: Mapping[str, Any]) -> list[str]:
    """One line per parameter decision (``name  value (SE)  status``); duck-typed on ``ParameterDecision``."""
    width = max((len(k) for k in decisions), default=0)
    return [f"{k:<{width}}  {estimate(d.value, d.std_error):<20} {d.status}" for k, d in decisions.items()]


def short_repr(title: str, lines: Iterable[str] = (), max_lines: int = MAX_LINES) -> str:
    """``<title>`` then up to ``max_lines`` lines indented by two spaces (the rest counted).

    Parameters
    ----------
    title : str
        The first line (the class name and the key figures).
    lines : iterable of str
        Further lines.
    max_lines : int
        Lines shown at most.

    Returns
    -------
    str
    """
    body = list(lines)
    if len(body) > max_lines:
        body = [*body[:max_lines - 1], f"... ({len(body) - max_lines + 1} more)"]
    return "\n".join([title, *(f"  {line}" for line in body)])
