"""The composition root: settings from the environment -> engine, unit of work, policy."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from returnflow.adapters.db.engine import make_engine, make_session_factory
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.adapters.outbox import loop as outbox_loop
from returnflow.adapters.outbox.handlers import Dispatcher
from returnflow.adapters.outbox.store import OutboxStore
from returnflow.bootstrap_production import ProductionSettings
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
    production: ProductionSettings = field(default_factory=lambda: ProductionSettings.from_environment())

    def __post_init__(self) -> None:
        if not self.database_url:
            self.database_url = os.environ.get("RETURNFLOW_DATABASE_URL") or \
                f"sqlite:///{(self.data_dir / 'returnflow.db').resolve()}"


class Container:
    """Everything the web app, CLI and worker need, built once from :class:`Settings`."""

    def __init__(self, settings: Settings | None = None, *, policy: ReturnPolicy | None = None) -> None:
        self.settings = settings or Settings()
        self.policy = policy or ReturnPolicy()

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    @cached_property
    def outbox(self) -> OutboxStore:
        return OutboxStore(self.engine, retry=self.settings.production.retry,
                           lease_seconds=self.settings.production.outbox_lease_seconds)

    def dispatcher(self) -> Dispatcher:
        """A new dispatcher (it owns an HTTP client: close it when done)."""
        return Dispatcher(self.engine, self.outbox, smtp=self.settings.production.smtp)

    def start_embedded_worker(self) -> threading.Event:
        """The embedded worker (SQLite, ``make run``): the delivery loop in a daemon thread; set the event to stop."""
        stop = threading.Event()
        dispatcher = self.dispatcher()
        threading.Thread(target=outbox_loop.run, args=(self.outbox, dispatcher), kwargs={"stop": stop},
                         name="outbox-worker", daemon=True).start()
        return stop

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
