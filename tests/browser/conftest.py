"""Browser-test fixtures: a real uvicorn server on a free port over a SQLite database holding one real
UCI invoice, staff users for each role, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import csv
import gzip
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from returnflow.adapters.importers.uci import HEADER, import_uci
from returnflow.services.policies import load_policy_file
from returnflow.bootstrap import Container, Settings, default_uci_path
from returnflow.services import centers, staff
from returnflow.services.setup import upgrade_database

CHROMIUM = os.environ.get("RETURNFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INVOICE = "581587"  # the file's last invoice: customer 12680, France, 9 Dec 2011, 15 lines
PASSWORDS = {role: f"{role}-browser-test-pw" for role in staff.ROLES}


DEMO_POLICY = Path(__file__).resolve().parents[2] / "policies" / "demo.toml"


@dataclass
class LiveServer:
    url: str
    container: Container
    order_number: str
    email: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_invoice_slice(source: Path, target: Path, invoice: str) -> int:
    """Header + the rows of one invoice of the real UCI file; returns the row count."""
    rows = 0
    with gzip.open(source, "rt", encoding="utf-8", newline="") as src, open(target, "w", newline="",
                                                                             encoding="utf-8") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        header = next(reader)
        assert header == HEADER
        writer.writerow(header)
        for row in reader:
            if row[0] == invoice:
                writer.writerow(row)
                rows += 1
    return rows


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    from returnflow.web.app import create_app

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run scripts/install_browser.sh")
    folder = tmp_path_factory.mktemp("browser")
    container = Container(Settings(database_url=f"sqlite:///{folder / 'returnflow.db'}", data_dir=folder,
                                   secret_key="browser-test-secret"),
                          # The imported order is from 2011: with the default 365-day review window it could
                          # not be returned at all; a long review window sends it to review, as the loop needs.
                          policy=load_policy_file(DEMO_POLICY))  # 30 days, review beyond, 10 % credit bonus
    upgrade_database(container.engine)
    with container.uow() as uow:
        centers.ensure_default_centers(uow)
        staff.ensure_default_reasons(uow)
        for role, password in PASSWORDS.items():
            staff.create_user(uow, username=role, password=password, role=role)
        uow.commit()
    slice_path = folder / f"uci_invoice_{INVOICE}.csv"
    assert write_invoice_slice(default_uci_path(), slice_path, INVOICE) == 15
    report = import_uci(container.engine, slice_path, rejects_path=folder / "rejects.csv")
    assert report.orders == 1
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", container, INVOICE, "c12680@example.com")
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where to keep screenshots: docs/screenshots with RETURNFLOW_SCREENSHOTS=1, else a temp folder."""
    if os.environ.get("RETURNFLOW_SCREENSHOTS") == "1":
        target = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path

