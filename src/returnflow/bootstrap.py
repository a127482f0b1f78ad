"""The composition root: settings from the environment -> engine, unit of work, policy."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from returnflow.adapters.carriers.base import Carrier
from returnflow.adapters.db.engine import make_engine, make_session_factory
from returnflow.adapters.db.unit_of_work import UnitOfWork
from returnflow.adapters.outbox import loop as outbox_loop
from returnflow.adapters.outbox.handlers import Dispatcher
from returnflow.adapters.outbox.store import OutboxStore
from returnflow.bootstrap_production import ProductionSettings
from returnflow.domain.policy import ReturnPolicy

from returnflow.adapters.shared_data import REPO_ROOT, shared_data_dir  # noqa: E402,F401  (re-exported)


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


@dataclass(frozen=True)
class LogisticsSettings:
    """Logistics settings from the environment: webhook secrets (empty = reject every event), the flat
    home pickup fee (in the RMA's currency), and the sweep's days (label without scan -> expired;
    no progress in transit -> lost)."""

    carrier_webhook_secret: str = ""
    easypost_webhook_secret: str = ""
    pickup_fee: Decimal = Decimal(0)
    expire_after_days: int = 14
    lost_after_days: int = 10

    @classmethod
    def from_env(cls) -> LogisticsSettings:
        env = os.environ.get
        return cls(carrier_webhook_secret=env("RETURNFLOW_CARRIER_WEBHOOK_SECRET", ""),
                   easypost_webhook_secret=env("EASYPOST_WEBHOOK_SECRET", ""),
                   pickup_fee=Decimal(env("RETURNFLOW_PICKUP_FEE", "0")),
                   expire_after_days=int(env("RETURNFLOW_LABEL_EXPIRY_DAYS", "14")),
                   lost_after_days=int(env("RETURNFLOW_LOST_AFTER_DAYS", "10")))


def carrier_from_env() -> Carrier:
    """``RETURNFLOW_CARRIER`` = builtin | easypost | shippo; by default EasyPost when ``EASYPOST_API_KEY`` is
    set, else Shippo when ``SHIPPO_API_TOKEN`` is, else the built-in carrier (no account needed)."""
    choice = os.environ.get("RETURNFLOW_CARRIER") or (
        "easypost" if os.environ.get("EASYPOST_API_KEY") else "shippo" if os.environ.get("SHIPPO_API_TOKEN")
        else "builtin")
    if choice == "easypost":
        from returnflow.adapters.carriers.easypost import EasyPostCarrier, EasyPostSettings

        return EasyPostCarrier(EasyPostSettings.from_env())
    if choice == "shippo":
        from returnflow.adapters.carriers.shippo import ShippoCarrier, ShippoSettings

        return ShippoCarrier(ShippoSettings.from_env())
    from returnflow.adapters.carriers.builtin import BuiltinCarrier

    return BuiltinCarrier()
def default_policy() -> ReturnPolicy:
    """The policy file ``RETURNFLOW_POLICY_FILE`` (default ``policies/default.toml``), else the built-in
    default (30 days from purchase, review up to 365 days): the same rules."""
    from returnflow.services.policies import DEFAULT_POLICY_FILE, load_policy_file

    path = Path(os.environ.get("RETURNFLOW_POLICY_FILE") or DEFAULT_POLICY_FILE)
    return load_policy_file(path) if path.exists() else ReturnPolicy()


_NO_POLICY = ReturnPolicy(version="")  # marker: no stored version is active


class Container:
    """Everything the web app, CLI and worker need, built once from :class:`Settings`."""

    def __init__(self, settings: Settings | None = None, *, policy: ReturnPolicy | None = None) -> None:
        self.settings = settings or Settings()
        self.policy = policy or default_policy()
        self._active_policy: tuple[float, ReturnPolicy | None] | None = None

    #: How long a process trusts the active policy it read (``PUT /api/v1/policy`` in this process
    #: forgets it at once; other processes see a new version within this many seconds).
    policy_cache_seconds = 2.0

    def active_policy(self) -> ReturnPolicy:
        """The policy for new returns: the active stored version (``PUT /api/v1/policy``), else
        ``self.policy`` (the file loaded at start). Cached for :attr:`policy_cache_seconds`."""
        from returnflow.services.policies import active_policy

        cached, now = self._active_policy, time.monotonic()
        if cached is None or now >= cached[0]:
            stored = active_policy(self.uow, default=_NO_POLICY)
            cached = self._active_policy = (now + self.policy_cache_seconds,
                                            None if stored is _NO_POLICY else stored)
        return cached[1] or self.policy

    def forget_active_policy(self) -> None:
        """Drop the cached active policy (after storing or activating a version in this process)."""
        self._active_policy = None

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def carrier(self) -> Carrier:
        return carrier_from_env()

    @cached_property
    def logistics(self) -> LogisticsSettings:
        return LogisticsSettings.from_env()

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
