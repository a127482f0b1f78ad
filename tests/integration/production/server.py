"""Run the real API (uvicorn, N processes) or the worker as subprocesses against a test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.integration.production.receivers import free_port

SRC = str(Path(__file__).resolve().parents[3] / "src")


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "RETURNFLOW_DATABASE_URL": database_url, "PYTHONPATH": SRC,
           "RETURNFLOW_ORDER_LOOKUPS_PER_MINUTE": "0", "RETURNFLOW_SECRET_KEY": "test-secret"}
    env.update(extra)
    return env


@contextmanager
def running_api(database_url: str, *, workers: int = 2, **extra: str) -> Iterator[str]:
    """Base URL of ``uvicorn returnflow.web.app:create_app`` on a free port; stopped on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "returnflow.web.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env=environment(database_url, RETURNFLOW_JSON_LOGS="1", **extra),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"API did not start: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_worker(database_url: str, *, batch_size: int, **extra: str) -> subprocess.Popen[bytes]:
    """``python -m returnflow.worker`` (what ``returnflow worker`` runs), output discarded."""
    return subprocess.Popen([sys.executable, "-m", "returnflow.worker", "--batch-size", str(batch_size),
                             "--poll-seconds", "0.1"],
                            env=environment(database_url, **extra), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
