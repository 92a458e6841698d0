"""Test configuration: the real data directory defaults to ``../shared/data`` beside the checkout."""

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


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data directory; fails loudly (never skips) when it is missing."""
    path = Path(os.environ["MIGRAVITY_DATA"])
    if not path.is_dir():
        pytest.fail(f"real data directory {path} is missing: put ../shared/data beside the checkout "
                    "or set MIGRAVITY_DATA")
    return path
