"""Where the shared public data sets live (UCI returns, OR-Library, carrier rate tables)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_data_dir() -> Path:
    """``RETURNFLOW_SHARED_DATA``, else the nearest ``shared/data`` folder beside the repository or one of its
    parents (a git worktree such as ``/work/wt/x`` finds ``/work/shared/data``); the data is never copied into
    the repository."""
    if os.environ.get("RETURNFLOW_SHARED_DATA"):
        return Path(os.environ["RETURNFLOW_SHARED_DATA"])
    for folder in REPO_ROOT.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return REPO_ROOT.parent / "shared" / "data"
