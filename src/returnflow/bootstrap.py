"""The composition root: settings from the environment -> engine, unit of work, policy."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from returnflow.adapters.db.engine import make_engine, make_session_factory
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.domain.policy import ReturnPolicy

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """``RETURNFLOW_SHARED_DATA``, else the ``shared/data`` folder beside the repository."""
    return Path(os.environ.get("RETURNFLOW_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def default_uci_path() -> Path:
    return shared_data_dir() / "online_retail_uci" / "online_retail_2010-12-01_to_2011-12-09.csv.gz"


@dataclass
class Settings:
    """Runtime settings. ``database_url``: any SQLAlchemy URL (``RETURNFLOW_DATABASE_URL``);
    default a SQLite file in ``RETURNFLOW_DATA_DIR`` (default ``./data``)."""

    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("RETURNFLOW_DATA_DIR", "data")))
    database_url: str = ""
    secret_key: str = field(default_factory=lambda: os.environ.get("RETURNFLOW_SECRET_KEY", ""))

    def __post_init__(self) -> None:
        if not self.database_url:
            self.database_url = os.environ.get("RETURNFLOW_DATABASE_URL") or \
                f"sqlite:///{(self.data_dir / 'returnflow.db').resolve()}"


def default_policy() -> ReturnPolicy:
    """The policy file ``RETURNFLOW_POLICY_FILE`` (default ``policies/default.toml``), else the built-in
    default (30 days from purchase, review up to 365 days): the same rules."""
    from returnflow.services.policies import DEFAULT_POLICY_FILE, load_policy_file

    path = Path(os.environ.get("RETURNFLOW_POLICY_FILE") or DEFAULT_POLICY_FILE)
    return load_policy_file(path) if path.exists() else ReturnPolicy()


class Container:
    """Everything the web app, CLI and worker need, built once from :class:`Settings`."""

    def __init__(self, settings: Settings | None = None, *, policy: ReturnPolicy | None = None) -> None:
        self.settings = settings or Settings()
        self.policy = policy or default_policy()

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
