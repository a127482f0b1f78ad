import os
from pathlib import Path

import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]


def shared_data() -> Path:
    """$RETURNFLOW_SHARED_DATA, else ../shared/data beside the repository root (or beside a worktree's parent)."""
    override = os.environ.get("RETURNFLOW_SHARED_DATA")
    if override:
        return Path(override)
    candidates = [REPOSITORY_ROOT / ".." / "shared" / "data", REPOSITORY_ROOT / ".." / ".." / "shared" / "data"]
    return next((path for path in candidates if path.is_dir()), candidates[0])


@pytest.fixture
def orlib_dir() -> Path:
    path = shared_data() / "orlib_facility_location"
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path
