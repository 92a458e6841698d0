"""Test configuration: the real data directory defaults to ``../shared/data`` beside the checkout.

Markers: every test that needs the real ONS files carries ``realdata``: added here to each test whose
fixtures reach :func:`data_dir` (directly or through ``zones23``, ``sample_run_dir``, ...), and written
out on the few tests that read the default data directory another way. ``pytest -m "not realdata"``
runs the rest, which need no data files (an empty ``MIGRAVITY_DATA`` directory will do).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()

# Property tests draw the same examples on every run (reproducible CI); HYPOTHESIS_PROFILE=explore randomises.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests read the real ONS files from ../shared/data unless the user points MIGRAVITY_DATA elsewhere.
os.environ.setdefault("MIGRAVITY_DATA", str(SHARED_DATA))


REAL_DATA_FIXTURES = frozenset({"data_dir"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``realdata`` every test whose fixture closure includes a real-data fixture."""
    for item in items:
        if REAL_DATA_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.realdata)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data directory; fails loudly (never skips) when it is missing."""
    path = Path(os.environ["MIGRAVITY_DATA"])
    if not path.is_dir():
        pytest.fail(f"real data directory {path} is missing: put ../shared/data beside the checkout "
                    "or set MIGRAVITY_DATA")
    return path
