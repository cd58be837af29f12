"""End-to-end fixtures: a registered model and real API server processes (uvicorn on
loopback) that tests can kill and restart. Every server is stopped at teardown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"


@dataclass
class Registry:
    tracking_uri: str
    model_uri: str


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A small model trained on the default synthetic data and promoted to @champion: the
    session's own copy of the store the serving suites use (trained once per run,
    tests/artefacts.py); the servers and tests here may move its aliases."""
    from tests.artefacts import champion_store

    _, trained = champion_store(tmp_path_factory, "e2e-mlflow")
    return Registry(trained.tracking_uri, trained.model_uri)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """`python -m serving.cli serve` in its own process group."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> LiveServer:
        env = {**os.environ, **self.env, "CHURN_PORT": str(self.port)}
        self.proc = subprocess.Popen([sys.executable, "-m", "serving.cli", "serve"], cwd=REPO,
                                     env=env, stdout=self.log.open("a"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n"
                                   + self.log.read_text()[-3000:])
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not become ready:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush: a crash."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_env(registry: Registry, database_url: str) -> dict[str, str]:
    return {"MLFLOW_TRACKING_URI": registry.tracking_uri, "CHURN_MODEL_URI": registry.model_uri,
            "CHURN_DATABASE_URL": database_url, "CHURN_ADMIN_TOKEN": ADMIN_TOKEN,
            "CHURN_RATE_LIMIT_PER_TOKEN": "100000", "CHURN_RATE_LIMIT_PER_CLIENT": "100000"}


@pytest.fixture
def make_server(server_env: dict[str, str], tmp_path: Path) -> Iterator:
    """Start API servers on demand; all are stopped at teardown."""
    started: list[LiveServer] = []

    def make(**extra: str) -> LiveServer:
        server = LiveServer({**server_env, **extra}, tmp_path / f"server{len(started)}.log")
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
