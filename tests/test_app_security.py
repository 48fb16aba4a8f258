"""Issue 18.7: the app on an intranet — server folders only under a configured root, sessions apart.

Folder checks run on folders built here (copies of the demo's files under a
temporary root, a symlink leading out of it, the upload folder inside it); the
app checks run the real script with streamlit's AppTest.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from coverage.errors import UnsafeInputError
from coverage.webapp.folders import (
    DATA_ROOT_ENV,
    FOLDER_REFUSED,
    SINGLE_USER_ENV,
    folder_policy,
    list_data_folders,
    resolve_in_root,
)
from coverage.webapp.state import demo_source, folder_source, upload_source

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
DEMO = ROOT / "data" / "haibowan"
TIMEOUT = 180


def dataset(folder: Path) -> Path:
    """A copy of the demo's layer files: a folder that looks like a data set."""
    folder.mkdir(parents=True)
    for p in DEMO.iterdir():
        shutil.copyfile(p, folder / p.name)
    return folder


@pytest.fixture()
def tree(tmp_path):
    """root/{a, b/c, .hidden, uploads, empty, out -> ../outside}, and outside/ a data set beside the root."""
    root = tmp_path / "root"
    dataset(root / "a")
    dataset(root / "b" / "c")
    dataset(root / ".hidden")
    dataset(root / "uploads")
    (root / "empty").mkdir()
    outside = dataset(tmp_path / "outside")
    (root / "out").symlink_to(outside, target_is_directory=True)
    return root, outside


def test_folder_policy_modes(tmp_path):
    assert folder_policy({}).mode == "demo"
    assert folder_policy({DATA_ROOT_ENV: str(tmp_path / "missing")}).mode == "demo"     # nothing to list
    p = folder_policy({DATA_ROOT_ENV: str(tmp_path)})
    assert p.mode == "root" and p.root == tmp_path.resolve()
    assert folder_policy({SINGLE_USER_ENV: "1", DATA_ROOT_ENV: str(tmp_path)}).mode == "free"
    assert folder_policy({SINGLE_USER_ENV: "0"}).mode == "demo"


def test_only_data_sets_inside_the_root_are_listed(tree):
    root, _ = tree
    # hidden folders, empty ones, the upload folder and the symlink out are not offered
    assert list_data_folders(root, exclude=(root / "uploads",)) == ["a", "b/c"]
    assert list_data_folders(root, depth=1, exclude=(root / "uploads",)) == ["a"]


def test_dotdot_absolute_and_symlinks_out_are_refused_alike(tree):
    root, outside = tree
    assert resolve_in_root(root, "a") == (root / "a").resolve()
    assert resolve_in_root(root, "b/c/") == (root / "b" / "c").resolve()
    messages = set()
    for name in ("../outside", "a/../../outside", str(outside), "out", "/etc", "~/x", "uploads", "empty",
                 "no such folder", "C:/Windows", "a\\..\\..\\outside"):
        with pytest.raises(UnsafeInputError) as err:
            resolve_in_root(root, name, exclude=(root / "uploads",))
        messages.add(str(err.value))
        assert name not in str(err.value) and str(root) not in str(err.value)
    assert messages == {FOLDER_REFUSED}                 # one message: it does not tell which paths exist
    assert re.search(r"[\u4e00-\u9fff]", FOLDER_REFUSED) and "folder not available" in FOLDER_REFUSED


def test_sources_of_two_uploads_never_share_a_cache_key(tmp_path):
    """The study cache and the result store are keyed by the source, which carries the upload digest."""
    a = upload_source(tmp_path / "0123456789abcdef0123")
    b = upload_source(tmp_path / "fedcba98765432100123")
    assert a != b and a[2] != b[2] and hash(a) != hash(b)
    assert demo_source() not in (a, b)
    folder = dataset(tmp_path / "f")
    first = folder_source(folder)
    (folder / "facilities.geojson").write_text((DEMO / "facilities.geojson").read_text(encoding="utf-8") + "\n",
                                               encoding="utf-8")
    assert folder_source(folder) != first                          # a changed file: a new key


def test_no_request_changes_process_global_settings():
    """osmnx settings are only widened once per process (under a lock); nothing else sets globals per run."""
    offenders = []
    for path in [APP, *sorted((ROOT / "coverage").rglob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            code = line.split("#")[0]
            if re.search(r"\b(ox|osmnx)\.settings\.\w+\s*=[^=]", code) and path.name != "filter.py":
                offenders.append(f"{path.name}:{n}")
            if re.search(r"os\.environ\[[^]]+\]\s*=[^=]|os\.environ\.(setdefault|update)\(|pd\.set_option\(|"
                         r"matplotlib\.use\(|st\.set_option\(", code):
                offenders.append(f"{path.name}:{n}")
    assert offenders == []
    filt = (ROOT / "coverage" / "network" / "filter.py").read_text(encoding="utf-8")
    assert "with _OSMNX_LOCK:" in filt and "useful_tags_way = sorted(set(ox.settings.useful_tags_way) |" in filt


def test_app_caches_are_bounded_and_keyed_by_source():
    text = APP.read_text(encoding="utf-8")
    decorators = re.findall(r"@st\.cache_(?:data|resource)\(([^)]*)\)\s*def (\w+)\(([^)]*)\)", text)
    assert decorators, "the app caches its studies and results"
    for args, name, params in decorators:
        # the study cache holds a few walking networks; the store is one object holding a bounded LRU
        assert "max_entries" in args or params.strip() == "", (name, args)
        assert "source" in params or params.strip() == "", name
    assert re.search(r"LRUStore\(maxsize=\d+\)", text)


# --------------------------------------------------------------------------
# the app (AppTest)
# --------------------------------------------------------------------------

def new_app(monkeypatch, env: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    for k in ("COVERAGE_APP_DATA", DATA_ROOT_ENV, SINGLE_USER_ENV):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state["p_layers"] = ["subdistricts"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.session_state["src_mode"] = "folder"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_app_without_a_root_offers_the_demo_only(monkeypatch):
    at = new_app(monkeypatch, {})
    assert len(at.sidebar.text_input) == 0                                   # no free path
    assert any("COVERAGE_APP_DATA_ROOT" in i.value and "演示数据" in i.value for i in at.sidebar.info)
    assert at.session_state["source"] == demo_source()


def test_app_single_user_mode_takes_a_free_path(monkeypatch, tmp_path):
    folder = dataset(tmp_path / "mine")
    at = new_app(monkeypatch, {SINGLE_USER_ENV: "1"})
    at.sidebar.text_input(key="folder_path").set_value(str(folder)).run()
    next(b for b in at.sidebar.button if b.label == "载入文件夹").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["source"][0] == "folder" and at.session_state["source"][1] == str(folder.resolve())


def test_app_lists_folders_under_the_root_and_refuses_one_turned_symlink(monkeypatch, tree):
    root, outside = tree
    at = new_app(monkeypatch, {DATA_ROOT_ENV: str(root), "COVERAGE_APP_UPLOADS": str(root / "uploads")})
    assert len(at.sidebar.text_input) == 0
    pick = at.sidebar.selectbox(key="folder_pick")
    assert list(pick.options) == ["a", "b/c"]
    pick.set_value("b/c").run()
    load = next(b for b in at.sidebar.button if b.label == "载入文件夹")
    load.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["source"][1] == str((root / "b" / "c").resolve())
    shown = {m.label: m.value for m in at.metric}
    assert any("文件夹: b/c" in c.value for c in at.caption)
    assert not any(str(root) in c.value for c in at.caption)                  # no server path on the page
    # "a" replaced by a symlink leading outside: no longer offered
    shutil.rmtree(root / "a")
    (root / "a").symlink_to(outside, target_is_directory=True)
    at.run()
    assert list(at.sidebar.selectbox(key="folder_pick").options) == ["b/c"]
    # and refused at load time, should a listed name lead outside (the listing is forged here)
    from coverage.webapp import folders

    monkeypatch.setattr(folders, "list_data_folders", lambda root, **kw: ["b/c", "a", "../outside"])
    for name in ("a", "../outside"):
        at.run()
        at.sidebar.selectbox(key="folder_pick").set_value(name).run()
        next(b for b in at.sidebar.button if b.label == "载入文件夹").click().run()
        assert not at.exception
        errors = " ".join(e.value for e in at.error)
        assert "该文件夹不可用" in errors and "folder not available" in errors
        assert str(outside) not in errors and str(root) not in errors
        assert at.session_state["source"][1] == str((root / "b" / "c").resolve())    # still the folder loaded before
        assert {m.label: m.value for m in at.metric} == shown


def test_store_computes_a_key_once_when_sessions_ask_at_once():
    import threading
    import time

    from coverage.webapp.state import LRUStore

    store, calls, barrier = LRUStore(maxsize=4), [], threading.Barrier(8)

    def compute():
        calls.append(1)
        time.sleep(0.2)              # long enough for every other thread to arrive meanwhile
        return object()

    got = []

    def session():
        barrier.wait()
        got.append(store.get_or_compute(("plan", "demo"), compute))

    threads = [threading.Thread(target=session) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 8 and len({id(v) for v in got}) == 1
    assert store._computing == {}                    # no lock left behind
    other = store.get_or_compute(("plan", "other"), object)
    assert other is not got[0] and len(store) == 2


def test_a_folder_under_the_root_is_named_without_the_server_path(tree):
    from coverage.webapp.folders import shown_folder

    root, outside = tree
    env = {DATA_ROOT_ENV: str(root)}
    assert shown_folder(root / "b" / "c", env) == "b/c"
    assert shown_folder(outside, {SINGLE_USER_ENV: "1"}) == str(outside)       # single user: their own path
