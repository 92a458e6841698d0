"""The Dask backend of flow evaluation equals the in-memory one (to 1e-10) on a LocalCluster."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from migravity.engine import evaluate_flows
from migravity.engine.dask_flows import distance_blocks
from migravity.errors import ConfigError, InputError

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

CONSTRAINTS = ["none", "production", "attraction", "doubly"]
PARAMS = {"intercept": -2.0, "log(cost)": -1.6, "border": 0.7, "o_size": 0.9, "d_size": 1.1}
RTOL = 1e-10


@pytest.fixture(scope="module")
def client():
    """Two worker processes with a single thread each: blocks cross process boundaries.

    While it lives the cluster is Dask's default scheduler (results computed later need it); tests about
    the local scheduler say so with :func:`local_scheduler`.
    """
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB", dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as c:
        yield c


def local_scheduler():
    """Dask's local (threaded) scheduler, even while the module's cluster is the default one."""
    return dask.config.set(scheduler="threads")


def _problem(n_o: int = 90, n_d: int = 70, seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    xo, xd = rng.uniform(0, 300, (n_o, 2)), rng.uniform(0, 300, (n_d, 2))
    cost = np.hypot(*(xo[:, None, :] - xd[None, :, :]).transpose(2, 0, 1)) + 1.0
    border = (cost < 40).astype(float)
    row = rng.lognormal(8, 1, n_o)
    col = rng.lognormal(8, 1, n_d)
    col *= row.sum() / col.sum()
    mask = rng.random((n_o, n_d)) > 0.1
    return {
        "cost": cost, "pair_terms": {"border": border},
        "origin_terms": {"o_size": np.log(row)}, "destination_terms": {"d_size": np.log(col)},
        "origin_totals": row, "destination_totals": col, "mask": mask,
        "origin_labels": [f"o{i}" for i in range(n_o)], "destination_labels": [f"d{j}" for j in range(n_d)],
    }


def _close(got: xr.DataArray, ref: xr.DataArray) -> None:
    got_v = np.asarray(got.values)
    np.testing.assert_allclose(got_v, ref.values, rtol=RTOL, atol=0.0)
    assert got.dims == ("origin", "destination")
    assert list(got["origin"].values) == list(ref["origin"].values)
    assert list(got["destination"].values) == list(ref["destination"].values)
    for key in ("constraint", "converged", "iterations"):
        assert got.attrs[key] == ref.attrs[key], key


@pytest.mark.parametrize("constraint", CONSTRAINTS)
@pytest.mark.parametrize("chunks", [30, (45, 35)], ids=["row-blocks", "2d-blocks"])
def test_equals_in_memory_on_local_cluster(client, constraint: str, chunks) -> None:
    kw = _problem()
    ref = evaluate_flows(PARAMS, constraint=constraint, tol=1e-12, **kw)
    got = evaluate_flows(PARAMS, constraint=constraint, tol=1e-12, backend="dask", chunks=chunks,
                         client=client, **kw)
    assert isinstance(got.data, da.Array)
    assert got.data.chunksize == ((30, 70) if chunks == 30 else (45, 35))
    _close(got, ref)


@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_tanner_deterrence_and_dask_inputs(client, constraint: str) -> None:
    """Cost used both logged and linear (Tanner), given as a Dask array; blocks follow its chunks."""
    kw = _problem(60, 60, seed=5)
    params = {**PARAMS, "cost": -0.01}
    ref = evaluate_flows(params, constraint=constraint, tol=1e-12, **kw)
    kw["cost"] = da.from_array(kw["cost"], chunks=(30, 40))
    kw["mask"] = da.from_array(kw["mask"], chunks=(30, 40))
    got = evaluate_flows(params, constraint=constraint, tol=1e-12, backend="dask", client=client, **kw)
    assert got.data.chunksize == (30, 40)
    _close(got, ref)


def test_default_scheduler_and_zarr_store(tmp_path) -> None:
    """No client: Dask's local scheduler; the store is written atomically and read back lazily."""
    kw = _problem(40, 50, seed=7)
    ref = evaluate_flows(PARAMS, constraint="doubly", tol=1e-12, **kw)
    store = tmp_path / "flows.zarr"
    with local_scheduler():
        got = evaluate_flows(PARAMS, constraint="doubly", tol=1e-12, backend="dask", chunks=16, store=store,
                             **kw)
        assert store.is_dir()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind
        _close(got, ref)
        back = xr.open_zarr(store, consolidated=False)["flow"]
        np.testing.assert_allclose(back.values, ref.values, rtol=RTOL)
        assert back.attrs["converged"] is True and back.attrs["constraint"] == "doubly"
        # a second run replaces the store whole
        got2 = evaluate_flows({**PARAMS, "border": 0.0}, constraint="doubly", tol=1e-12, backend="dask",
                              chunks=16, store=store, **kw)
        ref2 = evaluate_flows({**PARAMS, "border": 0.0}, constraint="doubly", tol=1e-12, **kw)
        _close(got2, ref2)


@pytest.mark.parametrize("constraint", ["production", "doubly"])
def test_recomputed_kernel_equals_persisted(client, constraint: str) -> None:
    """``persist=False``: blocks of K recomputed in every sweep, same flows and iterations."""
    kw = _problem(60, 50, seed=13)
    ref = evaluate_flows(PARAMS, constraint=constraint, tol=1e-12, **kw)
    got = evaluate_flows(PARAMS, constraint=constraint, tol=1e-12, chunks=(30, 25), client=client,
                         persist=False, **kw)
    _close(got, ref)


def test_zarr_store_on_cluster(client, tmp_path) -> None:
    """Passing a client alone switches to the Dask backend."""
    kw = _problem(50, 50, seed=11)
    ref = evaluate_flows(PARAMS, constraint="production", **kw)
    got = evaluate_flows(PARAMS, constraint="production", chunks=(20, 20), client=client,
                         store=tmp_path / "p.zarr", **kw)
    _close(got, ref)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(1, 23), cols=st.integers(1, 19),
       constraint=st.sampled_from(CONSTRAINTS))
def test_any_block_shape_gives_the_same_flows(seed: int, rows: int, cols: int, constraint: str) -> None:
    """Property: the block shape (ragged edges included) never changes the flows or the iterations.

    On the local scheduler: a round trip to the module's cluster per balancing sweep made it the slowest test.
    """
    kw = _problem(23, 19, seed=seed)
    ref = evaluate_flows(PARAMS, constraint=constraint, tol=1e-12, **kw)
    with local_scheduler():
        got = evaluate_flows(PARAMS, constraint=constraint, tol=1e-12, backend="dask", chunks=(rows, cols),
                             **kw)
        _close(got, ref)
        if constraint in ("production", "doubly"):
            np.testing.assert_allclose(np.asarray(got.sum("destination")), kw["origin_totals"], rtol=1e-10)


def test_distance_blocks_match_dense() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 100, 37), rng.uniform(0, 100, 37)
    diag = rng.uniform(1, 2, 37)
    dense = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    dense[np.diag_indices(37)] = diag
    for chunks in (None, 10, (8, 13)):
        lazy = distance_blocks(x, y, diagonal=diag, chunks=chunks)
        np.testing.assert_allclose(lazy.compute(), dense, rtol=1e-15)
    with pytest.raises(ConfigError, match="diagonal"):
        distance_blocks(x, y, diagonal=diag[:3])


def test_bad_value_error_crosses_the_cluster_with_global_position(client) -> None:
    kw = _problem(40, 40, seed=1)
    kw.pop("mask")
    cost = kw["cost"].copy()
    cost[33, 27] = np.nan
    kw["cost"] = cost
    with pytest.raises(InputError, match=r"NaN/inf value at \(33, 27\)"):
        evaluate_flows(PARAMS, backend="dask", chunks=(10, 10), client=client, **kw)
    cost[33, 27] = -1.0
    with pytest.raises(ConfigError, match="cannot be logged"):
        evaluate_flows(PARAMS, backend="dask", chunks=(10, 10), client=client, **kw)


def test_backend_options_are_validated() -> None:
    kw = _problem(10, 10)
    with pytest.raises(ConfigError, match="backend='spark'"):
        evaluate_flows(PARAMS, backend="spark", **kw)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match='pass backend="dask"'):
        evaluate_flows(PARAMS, backend="numpy", chunks=5, **kw)
    with pytest.raises(ConfigError, match="chunks"):
        evaluate_flows(PARAMS, backend="dask", chunks=(0, 5), **kw)
    with pytest.raises(InputError, match="shape"):
        evaluate_flows(PARAMS, backend="dask", **{**kw, "cost": da.ones((10, 9))})
