"""The result of a calibration: coefficients, standard errors, fit statistics, fitted flows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from migravity.engine.fitstats import ssi as _ssi
from migravity.engine.inference import STARS_LEGEND, p_value, stars
from migravity.utils.metadata import annotate
from migravity.utils.reprs import estimate, short_repr


@dataclass
class CalibrationResult:
    """A fitted spatial-interaction model.

    Attributes
    ----------
    coefficients, std_errors : dict of str to float
        Keyed by term: ``"intercept"`` (unconstrained models), the cost term(s)
        (``"log(COST)"`` / ``"COST"``) and the other terms as written. A term dropped for
        separation has NaN.
    vcov : pandas.DataFrame
        Covariance of the estimated coefficients (see :mod:`migravity.engine.vcov`).
    fit : dict of str to float
        Fit statistics (see :mod:`migravity.engine.fitstats`).
    n_pairs : int
        Pairs in the fit (observed pairs minus dropped ones).
    iterations, converged, seconds : int, bool, float
        Newton iterations, convergence flag and wall time of the whole call.
    message : str
        How the fit ended.
    warnings : list of str
        Everything dropped or not converged, in words.
    dropped : dict
        ``origins``, ``destinations``, ``pairs`` and ``terms`` left out of the fit.
    fitted, observed : xarray.DataArray
        Fitted and observed flows, dims ``(origin, destination)``; NaN for absent pairs.
    balancing : dict
        Status of the final balancing: ``iterations``, ``max_error``.
    """

    coefficients: dict[str, float]
    std_errors: dict[str, float]
    vcov: pd.DataFrame
    fit: dict[str, float]
    n_pairs: int
    iterations: int
    converged: bool
    seconds: float
    constraint: str
    deterrence: str
    se: str
    message: str
    warnings: list[str]
    dropped: dict[str, list[Any]]
    fitted_values: np.ndarray = field(repr=False)
    observed_values: np.ndarray = field(repr=False)
    origin_labels: np.ndarray = field(repr=False)
    destination_labels: np.ndarray = field(repr=False)
    balancing: dict[str, float]
    cost_names: tuple[str, ...] = ()
    spec: dict[str, Any] | None = None
    _rows: np.ndarray | None = field(default=None, repr=False)
    _cols: np.ndarray | None = field(default=None, repr=False)
    _index: pd.Index | None = field(default=None, repr=False)
    _arrays: dict[str, xr.DataArray] = field(default_factory=dict, repr=False)

    def _labelled(self, name: str, values: np.ndarray) -> xr.DataArray:
        # built on first access: wrapping costs more than a small fit itself
        if name not in self._arrays:
            coords = {"origin": self.origin_labels, "destination": self.destination_labels}
            self._arrays[name] = annotate(xr.DataArray(values, dims=("origin", "destination"), coords=coords,
                                                       name=name))
        return self._arrays[name]

    @property
    def fitted(self) -> xr.DataArray:
        """Fitted flows, dims ``(origin, destination)``; 0 for dropped pairs, NaN for absent ones."""
        return self._labelled("fitted", self.fitted_values)

    @property
    def observed(self) -> xr.DataArray:
        """Observed flows, dims ``(origin, destination)``; NaN for absent pairs."""
        return self._labelled("observed", self.observed_values)

    def predict(
        self,
        new_table: pd.DataFrame | None = None,
        *,
        origin_totals: Any = None,
        destination_totals: Any = None,
        offset: Any = None,
    ) -> pd.Series:
        """Fitted flows of the table's rows, or predicted flows of ``new_table``.

        Parameters
        ----------
        new_table : pandas.DataFrame, optional
            OD pairs with the model's term columns. Constrained models are balanced to the
            margins of its flow column, or to ``origin_totals``/``destination_totals``.
        origin_totals, destination_totals : mapping or pandas.Series, optional
            Totals by origin/destination label (override the flow column's margins).
        offset : str or array-like, optional
            For a model fitted with an offset: the offset of ``new_table``'s rows (a column or
            values in row order). Default: the fit's offset column, which ``new_table`` must have.

        Returns
        -------
        pandas.Series
            Aligned with the table's (or ``new_table``'s) index. For a model fitted from
            arrays, indexed by (origin, destination) over the observed pairs.
        """
        if new_table is not None:
            from migravity.engine.evaluate import predict_table

            return predict_table(self, new_table, origin_totals, destination_totals, offset)
        values = self.fitted_values
        if self._rows is not None and self._index is not None:
            return pd.Series(values[self._rows, self._cols], index=self._index, name="fitted")
        obs = np.isfinite(self.observed_values)
        oi, dj = np.nonzero(obs)
        idx = pd.MultiIndex.from_arrays(
            [self.fitted["origin"].to_numpy()[oi], self.fitted["destination"].to_numpy()[dj]],
            names=["origin", "destination"],
        )
        return pd.Series(values[oi, dj], index=idx, name="fitted")

    def ssi(self) -> xr.DataArray:
        """Sørensen similarity per pair, ``2 min(y, mu) / (y + mu)`` (1 if both 0; NaN if absent)."""
        y = self.observed.to_numpy()
        out = _ssi(np.nan_to_num(y), np.nan_to_num(self.fitted.to_numpy()))
        out[~np.isfinite(y)] = np.nan
        arr = self.observed.copy(data=out).rename("ssi")
        arr.attrs = {}
        return annotate(arr)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain Python types, ready for strict JSON (:mod:`migravity.utils.jsonio` turns NaN into null).

        Keys: ``coefficients``, ``std_errors``, ``fit``, ``n_pairs``, ``seconds``, the model
        (``constraint``, ``deterrence``, ``se``), the convergence (``converged``, ``iterations``,
        ``message``, ``balancing``), ``warnings`` and ``dropped`` (origins, destinations, pairs, terms).
        """
        def plain(v: Any) -> Any:
            return v.item() if hasattr(v, "item") else v

        return {
            "coefficients": {k: float(v) for k, v in self.coefficients.items()},
            "std_errors": {k: float(v) for k, v in self.std_errors.items()},
            "fit": {k: float(v) for k, v in self.fit.items()},
            "n_pairs": int(self.n_pairs),
            "seconds": float(self.seconds),
            "constraint": self.constraint,
            "deterrence": self.deterrence,
            "se": self.se,
            "converged": bool(self.converged),
            "iterations": int(self.iterations),
            "message": self.message,
            "balancing": {k: float(v) for k, v in self.balancing.items()},
            "warnings": list(self.warnings),
            "dropped": {k: [[plain(x) for x in p] if isinstance(p, list | tuple) else plain(p) for p in v]
                        for k, v in self.dropped.items()},
        }

    def table(self) -> pd.DataFrame:
        """Coefficient table: estimate, SE, z, p (normal) and significance stars."""
        coef = pd.Series(self.coefficients, dtype=float)
        sev = pd.Series(self.std_errors, dtype=float)
        z = coef / sev
        p = pd.Series([p_value(v) for v in z.to_numpy()], index=coef.index, dtype=float)
        return pd.DataFrame({"coef": coef, "se": sev, "z": z, "p": p, "": p.map(stars)})

    def summary(self) -> str:
        """A text regression table with the fit statistics."""
        se_name = {"robust": "robust (HC0)", "hc1": "robust (HC1)", "cluster": "clustered (CR1)"}
        tab = self.table()
        width = max([len(n) for n in tab.index] + [12])
        lines = [
            f"PPML spatial-interaction model: constraint={self.constraint}, "
            f"deterrence={self.deterrence}, SE {se_name.get(self.se, self.se)}",
            "-" * (width + 52),
            f"{'term':<{width}} {'coef':>12} {'std.err':>12} {'z':>9} {'P>|z|':>9}",
            "-" * (width + 52),
        ]
        for name, row in tab.iterrows():
            lines.append(
                f"{name:<{width}} {row['coef']:>12.6g} {row['se']:>12.6g} {row['z']:>9.3f} "
                f"{row['p']:>9.4f} {row['']}"
            )
        f = self.fit
        lines += [
            "-" * (width + 52),
            STARS_LEGEND,
            f"observations {self.n_pairs:,}   log-likelihood {f['loglik']:.6g}   "
            f"pseudo-R2 {f['pseudo_r2']:.4f}   deviance {f['deviance']:.6g}",
            f"AIC {f['aic']:.6g}   SRMSE {f['srmse']:.4f}   CPC {f['cpc']:.4f}   "
            f"iterations {self.iterations}   converged {self.converged}",
        ]
        lines += [f"note: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        f = self.fit
        status = f"converged in {self.iterations} iterations" if self.converged else \
            f"NOT converged after {self.iterations} iterations"
        width = max((len(k) for k in self.coefficients), default=0)
        lines = [f"{k:<{width}}  {estimate(v, self.std_errors.get(k))}" for k, v in self.coefficients.items()]
        lines.append(f"deviance {f.get('deviance', float('nan')):.6g}, pseudo-R2 "
                     f"{f.get('pseudo_r2', float('nan')):.4f}")
        if self.warnings:
            lines.append(f"{len(self.warnings)} warning(s): see .warnings")
        return short_repr(f"<CalibrationResult: PPML {self.constraint}, deterrence={self.deterrence}, SE {self.se}; "
                          f"{self.n_pairs:,} pairs; {status}>", lines)

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.summary())}</pre>"
