#!/usr/bin/env bash
# Runs the whole test suite: makes sure PostgreSQL is up, the browser is installed, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin

# PostgreSQL: the tests create (and drop) their own throw-away database on this server.
if ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
  fi
fi
if [ "${CI:-}" = "true" ] && ! pg_isready -h 127.0.0.1 -q; then
  echo "PostgreSQL is required in CI and is not running" >&2; exit 1
fi

# Debian's Chromium for the browser tests (Playwright drives it with its executable path).
bash scripts/install_browser.sh

# Redis: the broker mode test relays outbox messages through Dramatiq on it.
if command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null 2>&1 && redis-server --bind 127.0.0.1 --port 6379 --daemonize yes >/dev/null || true
  for _ in $(seq 1 10); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

"$BIN/lint-imports"
exec "$BIN/python" -m pytest -q -W error::DeprecationWarning "$@"
