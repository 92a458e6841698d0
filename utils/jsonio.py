"""Strict JSON out: NumPy scalars and arrays as plain values, NaN and infinities as ``null``, atomic writes."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """``obj`` with NumPy values, paths, tuples and non-finite floats made strict-JSON friendly."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(payload: Any) -> str:
    """``payload`` as strict, indented JSON (``NaN`` becomes ``null``); raises TypeError on other objects."""
    return json.dumps(to_jsonable(payload), indent=2, allow_nan=False)


def write_json(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as strict JSON to ``path`` atomically (``-`` means stdout)."""
    text = dumps(payload)
    if str(path) == "-":
        sys.stdout.write(text + "\n")
        return
    from migravity.utils.atomic import atomic_write_text

    atomic_write_text(Path(path), text + "\n")
