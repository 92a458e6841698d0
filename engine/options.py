"""Options of the engine: their names, the validated option objects, and the margins they keep.

The public API takes ``Literal`` strings, either as keywords or gathered in a frozen option
object (:class:`FlowOptions` for :func:`~migravity.engine.evaluate_flows`,
:class:`CalibrationOptions` for :func:`~migravity.engine.calibrate`). The objects validate
themselves on construction (with :func:`migravity.errors.check_choice`), so the Python layer
below the public functions passes one object, never long lists of loose values. The
constraint becomes a :class:`Margins` flag; kernels receive it as a plain ``int``
(``int(margins)``) and never see strings or callables.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntFlag
from typing import Any, Literal, TypeVar, get_args

import numpy as np

from migravity.errors import ConfigError, check_choice

Constraint = Literal["none", "production", "attraction", "doubly"]
Deterrence = Literal["power", "exponential", "tanner"]
StdErr = Literal["robust", "hc1", "cluster"]
#: Where flows are evaluated: in memory, or in blocks on Dask (see :mod:`migravity.engine.dask_flows`).
Backend = Literal["numpy", "dask"]

CONSTRAINTS: tuple[str, ...] = get_args(Constraint)
DETERRENCES: tuple[str, ...] = get_args(Deterrence)
STD_ERRS: tuple[str, ...] = get_args(StdErr)
BACKENDS: tuple[str, ...] = get_args(Backend)

#: Synonyms accepted for ``constraint`` (``"unconstrained"`` is ``"none"``).
_CONSTRAINT_ALIASES: dict[str, str] = {"unconstrained": "none", "gravity": "none"}


class Margins(IntFlag):
    """The margins a model keeps: its fixed effects, and what balancing makes exact.

    ``NONE`` is the unconstrained model (one intercept: a single global factor),
    ``ORIGIN`` the production-constrained one (origin effects: row totals), ``DESTINATION``
    the attraction-constrained one (destination effects: column totals) and ``BOTH`` the
    doubly-constrained one. Test with ``Margins.ORIGIN in m``. The value is the kernels'
    balancing mode: pass ``int(m)`` to a kernel.
    """

    NONE = 0
    ORIGIN = 1
    DESTINATION = 2
    BOTH = 3

    @classmethod
    def of(cls, constraint: str) -> Margins:
        """The margins kept by ``constraint`` (validated; aliases accepted).

        Parameters
        ----------
        constraint : str
            ``"none"``, ``"production"``, ``"attraction"`` or ``"doubly"`` (``"unconstrained"``
            is accepted for ``"none"``).

        Returns
        -------
        Margins
        """
        return _MARGINS[normalise_constraint(constraint)]


_MARGINS: dict[str, Margins] = {
    "none": Margins.NONE,
    "production": Margins.ORIGIN,
    "attraction": Margins.DESTINATION,
    "doubly": Margins.BOTH,
}


def normalise_constraint(constraint: str) -> str:
    """Validate ``constraint`` and return its canonical name.

    Parameters
    ----------
    constraint : str
        A constraint name or alias.

    Returns
    -------
    str
        One of :data:`CONSTRAINTS`.
    """
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


def _check_tol(tol: Any) -> None:
    if not (isinstance(tol, int | float | np.floating) and not isinstance(tol, bool) and 0 < tol < 1):
        raise ConfigError("tol", tol, "give a positive number below 1, e.g. 1e-10")


def _check_max_iter(max_iter: Any) -> None:
    if not (isinstance(max_iter, int | np.integer) and not isinstance(max_iter, bool) and max_iter >= 1):
        raise ConfigError("max_iter", max_iter, "give a positive integer, e.g. 100")


def _check_bool(field: str, value: Any) -> None:
    if not isinstance(value, bool | np.bool_):
        raise ConfigError(field, value, "give True or False")


@dataclass(frozen=True)
class FlowOptions:
    """Validated options of :func:`~migravity.engine.evaluate_flows`.

    Parameters
    ----------
    constraint : {"none", "production", "attraction", "doubly"}, optional
        Margins the flows keep. Default (None): the calibration result's constraint, else
        ``"doubly"``. Aliases (``"unconstrained"``) are stored by their canonical name.
    tol : float
        Balancing tolerance: the largest relative margin error accepted (0 < tol < 1).
    max_iter : int
        Limit on the balancing sweeps.
    backend : {"numpy", "dask"}, optional
        Default (None): ``"dask"`` when ``chunks``, ``client``, ``store`` or ``persist`` is
        given, else ``"numpy"`` (see :attr:`use_dask`).
    chunks : int or (int, int), optional
        Dask only: block shape (rows, columns), or rows per block of full rows.
    client : dask.distributed.Client, optional
        Dask only: the cluster to run on.
    store : path, optional
        Dask only: Zarr store the flows are written to.
    persist : bool, optional
        Dask only: keep the kernel ``K`` in the workers' memory (default True).

    Raises
    ------
    ConfigError
        On an unknown choice, a bad number, or a Dask-only option with ``backend="numpy"``.
    """

    constraint: Constraint | None = None
    tol: float = 1e-10
    max_iter: int = 10_000
    backend: Backend | None = None
    chunks: int | tuple[int, int] | None = None
    client: Any = None
    store: str | os.PathLike[str] | None = None
    persist: bool | None = None

    def __post_init__(self) -> None:
        if self.constraint is not None:
            object.__setattr__(self, "constraint", normalise_constraint(self.constraint))
        _check_tol(self.tol)
        _check_max_iter(self.max_iter)
        if self.backend is not None:
            check_choice("backend", self.backend, BACKENDS)
        if self.persist is not None:
            _check_bool("persist", self.persist)
        if self.chunks is not None:
            check_chunks(self.chunks)
        if self.backend == "numpy":
            for name in _DASK_FIELDS:
                value = getattr(self, name)
                if value is not None:
                    raise ConfigError(name, value, 'only the Dask backend takes it: pass backend="dask"')

    @property
    def use_dask(self) -> bool:
        """Whether the flows are evaluated on Dask (the resolved ``backend``)."""
        if self.backend is not None:
            return self.backend == "dask"
        return any(getattr(self, name) is not None for name in _DASK_FIELDS)

    @property
    def keep_kernel(self) -> bool:
        """Dask only: whether ``K`` is persisted (``persist``, default True)."""
        return True if self.persist is None else bool(self.persist)


_DASK_FIELDS = ("chunks", "client", "store", "persist")


def check_chunks(chunks: Any) -> None:
    """Raise :class:`ConfigError` unless ``chunks`` is a positive int or a pair of them."""
    pair = (chunks, 1) if isinstance(chunks, int | np.integer) else chunks
    ok = isinstance(pair, tuple | list) and len(pair) == 2 and all(
        isinstance(c, int | np.integer) and not isinstance(c, bool) and c > 0 for c in pair
    )
    if not ok or isinstance(chunks, bool):
        raise ConfigError("chunks", chunks, "give a positive int (rows per block) or (rows, columns)")


@dataclass(frozen=True)
class CalibrationOptions:
    """Validated options of :func:`~migravity.engine.calibrate` and
    :func:`~migravity.engine.calibrate_arrays`.

    Parameters
    ----------
    constraint : {"none", "production", "attraction", "doubly"}
        Margins the model keeps (stored by canonical name; aliases accepted).
    deterrence : {"power", "exponential", "tanner"}
        Form of the distance deterrence.
    se : {"robust", "hc1", "cluster"}
        Standard errors (see :mod:`migravity.engine.vcov`).
    cluster : str or sequence or pandas.Series, optional
        Groups of ``se="cluster"``: a column of the table, labels per origin, or an
        (n_o, n_d) array of labels per pair. Default: each origin its own group.
    mask_diagonal : bool
        Leave out pairs whose origin and destination labels are equal.
    tol : float
        Newton convergence tolerance (0 < tol < 1).
    max_iter : int
        Limit on the Newton iterations.
    strict : bool
        Raise :class:`~migravity.errors.ConvergenceError` if the fit does not converge.
    backend : {"numpy", "dask"}, optional
        Default (None): ``"dask"`` when ``chunks`` or ``client`` is given, else ``"numpy"``.
        ``"dask"`` fits the doubly-constrained model in blocks
        (:mod:`migravity.engine.dask_ppml`).
    chunks : int or (int, int), optional
        Dask only: block shape (rows, columns), or rows per block of full rows.
    client : dask.distributed.Client, optional
        Dask only: the cluster to run on.

    Raises
    ------
    ConfigError
        On an unknown choice or a bad number, or a Dask-only option with ``backend="numpy"``.
    """

    constraint: Constraint = "doubly"
    deterrence: Deterrence = "power"
    se: StdErr = "robust"
    cluster: str | Sequence[Any] | Any | None = dataclasses.field(default=None, compare=False)
    mask_diagonal: bool = False
    tol: float = 1e-10
    max_iter: int = 100
    strict: bool = False
    backend: Backend | None = None
    chunks: int | tuple[int, int] | None = None
    client: Any = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "constraint", normalise_constraint(self.constraint))
        check_deterrence(self.deterrence)
        check_se(self.se)
        _check_tol(self.tol)
        _check_max_iter(self.max_iter)
        _check_bool("mask_diagonal", self.mask_diagonal)
        _check_bool("strict", self.strict)
        if self.backend is not None:
            check_choice("backend", self.backend, BACKENDS)
        if self.chunks is not None:
            check_chunks(self.chunks)
        if self.backend == "numpy":
            for name in ("chunks", "client"):
                value = getattr(self, name)
                if value is not None:
                    raise ConfigError(name, value, 'only the Dask backend takes it: pass backend="dask"')
        if self.use_dask and self.constraint != "doubly":
            raise ConfigError("backend", "dask", 'the Dask calibration fits constraint="doubly" only: '
                              'use backend="numpy" for the other constraints')

    @property
    def use_dask(self) -> bool:
        """Whether the calibration runs on Dask (the resolved ``backend``)."""
        if self.backend is not None:
            return self.backend == "dask"
        return self.chunks is not None or self.client is not None

    @property
    def margins(self) -> Margins:
        """The margins of :attr:`constraint`."""
        return _MARGINS[self.constraint]


_Options = TypeVar("_Options", FlowOptions, CalibrationOptions)


def resolve_options(cls: type[_Options], options: _Options | None, **given: Any) -> _Options:
    """The options of a call: ``options`` (or the defaults) with the keywords given on top.

    Parameters
    ----------
    cls : type
        :class:`FlowOptions` or :class:`CalibrationOptions`.
    options : cls, optional
        Options passed as one object.
    **given
        The call's option keywords; None means "not given" (leave ``options``' value).

    Returns
    -------
    cls
        A validated option object.

    Raises
    ------
    ConfigError
        If ``options`` is not a ``cls``, or a value is not valid.
    """
    if options is not None and not isinstance(options, cls):
        raise ConfigError("options", options, f"give a {cls.__name__}")
    changes = {k: v for k, v in given.items() if v is not None}
    if options is None:
        return cls(**changes)
    return dataclasses.replace(options, **changes) if changes else options

