"""``coverage.fetch.online``: a quick, bounded check that downloads can work, tried only against localhost."""

from __future__ import annotations

import socket
import time

import pytest

from coverage import fetch
from coverage.fetch import online


@pytest.fixture
def listening():
    """A localhost port that accepts connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def refused():
    """A localhost port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return port


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("COVERAGE_OFFLINE", "COVERAGE_ONLINE_CHECK", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_online_when_the_server_answers(monkeypatch, listening):
    monkeypatch.setenv("COVERAGE_ONLINE_CHECK", f"127.0.0.1:{listening}")
    assert online(timeout=2) is True


def test_offline_when_the_connection_is_refused(monkeypatch, refused):
    monkeypatch.setenv("COVERAGE_ONLINE_CHECK", f"127.0.0.1:{refused}")
    start = time.monotonic()
    assert online(timeout=2) is False
    assert time.monotonic() - start < 2


def test_coverage_offline_wins_without_trying(monkeypatch, listening):
    monkeypatch.setenv("COVERAGE_ONLINE_CHECK", f"127.0.0.1:{listening}")
    monkeypatch.setenv("COVERAGE_OFFLINE", "1")
    monkeypatch.setattr(fetch.socket, "create_connection", lambda *a, **k: pytest.fail("tried to connect"))
    assert online() is False


def test_a_hanging_lookup_is_cut_at_the_timeout(monkeypatch):
    """Name lookup is not bound by the socket timeout: the check still answers within ``timeout``."""
    tried = []

    def hang(address, timeout=None):
        tried.append(address)
        time.sleep(5)
        raise OSError("too late")

    monkeypatch.setattr(fetch.socket, "create_connection", hang)
    start = time.monotonic()
    assert online(timeout=0.3) is False
    assert time.monotonic() - start < 2
    assert tried == [fetch.ONLINE_CHECK_ADDRESS]          # by default: the Overpass server, HTTPS


def test_downloads_through_a_proxy_check_the_proxy(monkeypatch, listening, refused):
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:secret@127.0.0.1:{listening}/")
    assert online(timeout=2) is True
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{refused}")
    assert online(timeout=2) is False
