"""Option names of the engine and the integer codes its Numba kernels use.

The public API takes ``Literal`` strings; the Python layer validates them with
:func:`migravity.errors.check_choice` and passes only the integer codes below to
kernels (kernels never receive strings or callables).
"""

from __future__ import annotations

from typing import Literal, get_args

from migravity.errors import check_choice

Constraint = Literal["none", "production", "attraction", "doubly"]
Deterrence = Literal["power", "exponential", "tanner"]
StdErr = Literal["robust", "hc1", "cluster"]
#: Where flows are evaluated: in memory, or in blocks on Dask (see :mod:`migravity.engine.dask_flows`).
Backend = Literal["numpy", "dask"]

CONSTRAINTS: tuple[str, ...] = get_args(Constraint)
DETERRENCES: tuple[str, ...] = get_args(Deterrence)
STD_ERRS: tuple[str, ...] = get_args(StdErr)
BACKENDS: tuple[str, ...] = get_args(Backend)

#: Kernel code of each constraint: 0 none, 1 production (rows), 2 attraction (columns), 3 doubly.
CONSTRAINT_CODE: dict[str, int] = {"none": 0, "production": 1, "attraction": 2, "doubly": 3}

#: Synonyms accepted for ``constraint`` (``"unconstrained"`` is ``"none"``).
_CONSTRAINT_ALIASES: dict[str, str] = {"unconstrained": "none", "gravity": "none"}


def constraint_code(constraint: str) -> int:
    """Validate ``constraint`` and return its kernel code.

    Parameters
    ----------
    constraint : str
        One of ``"none"``, ``"production"``, ``"attraction"``, ``"doubly"``
        (``"unconstrained"`` is accepted for ``"none"``).

    Returns
    -------
    int
        0 none, 1 production, 2 attraction, 3 doubly.
    """
    return CONSTRAINT_CODE[normalise_constraint(constraint)]


def normalise_constraint(constraint: str) -> str:
    """Validate ``constraint`` and return its canonical name."""
    name = _CONSTRAINT_ALIASES.get(constraint, constraint) if isinstance(constraint, str) else constraint
    check_choice("constraint", name, CONSTRAINTS)
    return name


def check_deterrence(deterrence: str) -> str:
    """Validate ``deterrence`` (``"power"``, ``"exponential"`` or ``"tanner"``) and return it."""
    check_choice("deterrence", deterrence, DETERRENCES)
    return deterrence


def check_se(se: str) -> str:
    """Validate ``se`` (``"robust"``, ``"hc1"`` or ``"cluster"``) and return it."""
    check_choice("se", se, STD_ERRS)
    return se
