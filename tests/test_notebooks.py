"""The notebooks run from top to bottom, offline, and are committed without outputs.

Each notebook is executed headlessly with nbclient (kernel ``python3``, working
directory ``notebooks/``) with ``COVERAGE_OFFLINE=1``: cells tagged ``online``
must then print ``skipped: offline``. As a guard, a first cell is injected (in
memory only) that refuses every socket connection or name lookup that is not
to this machine, so a notebook that tries to download fails here instead of
reaching the network. ``02_your_city`` also runs as downloaded, without
``COVERAGE_OFFLINE``: its online check (:func:`coverage.fetch.online`, pointed
at a refused localhost port) finds the machine offline and the download cells
print ``skipped: offline``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {"01_quickstart.ipynb", "02_your_city.ipynb", "03_siting_scenarios.ipynb"}
CELL_TIMEOUT_S = 300

NO_NETWORK = '''\
import socket as _socket

_LOCAL = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0"}
_connect, _connect_ex, _getaddrinfo = _socket.socket.connect, _socket.socket.connect_ex, _socket.getaddrinfo


def _is_local(address):
    return not isinstance(address, tuple) or address[0] in _LOCAL


def _refuse(address):
    raise OSError(f"test_notebooks: network access to {address!r} is not allowed in the tests")


def _guarded_connect(self, address):
    return _connect(self, address) if _is_local(address) else _refuse(address)


def _guarded_connect_ex(self, address):
    return _connect_ex(self, address) if _is_local(address) else _refuse(address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    return _getaddrinfo(host, *args, **kwargs) if host in _LOCAL else _refuse(host)


_socket.socket.connect, _socket.socket.connect_ex = _guarded_connect, _guarded_connect_ex
_socket.getaddrinfo = _guarded_getaddrinfo
'''


def _read(path: Path):
    return nbformat.read(str(path), as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_three_notebooks_exist():
    assert EXPECTED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_clean(path):
    """No outputs (small diffs), kernel python3, online cells guarded by the OFFLINE flag."""
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in _code_cells(nb):
        assert cell.outputs == [], f"{path.name} cell {cell.get('id')}: clear the outputs before committing"
        assert cell.execution_count is None, f"{path.name} cell {cell.get('id')}: clear the execution counts"
        if "online" in cell.metadata.get("tags", []):
            assert "if OFFLINE:" in cell.source, f"{path.name} cell {cell.get('id')}: online cell without the flag"


def _snapshot() -> tuple[dict[str, float], set[str]]:
    """Files of notebooks/ with their times, and the names at the top of the repository and in data/."""
    notebooks = {str(p): p.stat().st_mtime for p in NOTEBOOK_DIR.rglob("*")
                 if "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}
    names = {str(p) for p in ROOT.iterdir()} | {str(p) for p in (ROOT / "data").rglob("*")}
    return notebooks, names


def _execute(path: Path, monkeypatch, tmp_path: Path):
    """Run a notebook headlessly behind the no-network guard; returns it with its outputs."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temp output folders end up here
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = _read(path)
    nb.cells.insert(0, nbformat.v4.new_code_cell(NO_NETWORK, id="test-no-network"))
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    for cell in _code_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name} cell {cell.get('id')}: {errors[0].ename}: {errors[0].evalue}"
    return nb


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_offline(path, monkeypatch, tmp_path):
    monkeypatch.setenv("COVERAGE_OFFLINE", "1")
    before = _snapshot()
    nb = _execute(path, monkeypatch, tmp_path)
    for cell in _code_cells(nb):
        if "online" in cell.metadata.get("tags", []):
            assert "skipped: offline" in _printed(cell), f"{path.name} cell {cell.get('id')} ran although offline"
    after = _snapshot()
    assert after[0] == before[0], "the notebook changed notebooks/: write to a temporary folder"
    assert not after[1] - before[1], f"the notebook wrote into the repository: {sorted(after[1] - before[1])}"


def _refused_port() -> int:
    """A localhost port nothing listens on (bound, then closed): connecting there is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_your_city_run_all_on_a_machine_without_internet(monkeypatch, tmp_path):
    """As downloaded, no COVERAGE_OFFLINE: the notebook finds itself offline and skips the downloads."""
    monkeypatch.delenv("COVERAGE_OFFLINE", raising=False)
    # the online check connects here, refused at once (and the guard refuses any real host anyway)
    monkeypatch.setenv("COVERAGE_ONLINE_CHECK", f"127.0.0.1:{_refused_port()}")
    nb = _execute(NOTEBOOK_DIR / "02_your_city.ipynb", monkeypatch, tmp_path)
    cells = _code_cells(nb)
    online = [c for c in cells if "online" in c.metadata.get("tags", [])]
    assert len(online) == 2
    for cell in online:
        assert "skipped: offline / 离线，已跳过" in _printed(cell), cell.get("id")
    assert "离线：跳过下载" in _printed(cells[1])   # the setup cell (after the guard) says so once
