"""The repr of a calibration (and of the ladder built on it): a few lines with the key figures."""

from __future__ import annotations

from migravity.analysis.ladder import LadderResult
from migravity.engine import calibrate


def test_calibration_result_repr_is_short_and_names_key_figures(small_table):
    r = calibrate(small_table, origin="origin", destination="destination", flow="flow", cost="distance_km",
                  terms=["contig"], constraint="doubly")
    text = repr(r)
    assert len(text) < 1000 and "array(" not in text
    b, se = r.coefficients["log(distance_km)"], r.std_errors["log(distance_km)"]
    for part in ("CalibrationResult", "doubly", f"{r.n_pairs:,} pairs", f"converged in {r.iterations} iterations",
                 f"{b:.4g} ({se:.3g})", "contig", "deviance", f"pseudo-R2 {r.fit['pseudo_r2']:.4f}"):
        assert part in text, part
    assert "<pre>" in r._repr_html_()
    ladder = LadderResult({"M1": r, "M2": r}, n_pairs=r.n_pairs)
    text = repr(ladder)
    assert len(text) < 1000 and "LadderResult: 2 models" in text and "M2: pseudo-R2" in text
