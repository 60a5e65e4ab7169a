"""The README's `make demo` path end to end: the real stage notebooks, papermill, a JupyterLab server.

`make demo` is `autopose run data/demo.toml --out runs/demo` after the install; these tests run that
command (into a temporary run directory) exactly as the Makefile does.
"""
import json, os, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autopose.core import PoseDataset
from autopose.pyskl import read_pyskl

ROOT = Path(__file__).resolve().parents[1]
AUTOPOSE = str(Path(sys.executable).with_name("autopose"))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """run the demo twice into one run directory; return (run_dir, first, second) completed processes"""
    out = tmp_path_factory.mktemp("demo") / "runs" / "demo"
    cmd = [AUTOPOSE, "run", str(ROOT / "data" / "demo.toml"), "--out", str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert first.returncode == 0, first.stderr
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.ipynb")}
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert second.returncode == 0, second.stderr
    return out, first, second, mtimes


def test_demo_writes_reports_and_outputs(demo_run):
    out, *_ = demo_run
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "done" and run["params"]["data"] == "procedural"
    ran = [s["notebook"] for s in run["stages"] if s["status"] != "skipped by when"]
    assert ran[:2] == ["90_testing.ipynb", "00_core.ipynb"]
    assert {s["notebook"]: s["status"] for s in run["stages"]}.get("03_datasets.ipynb") == "skipped by when"  # real-data reader: not on the default
    ds = PoseDataset.load(out / "data" / "dataset.npz")
    assert ds.meta["procedural"] is True and ds.num_classes >= 5 and len(set(ds.subjects.tolist())) >= 4
    counts = ds.class_counts()
    assert counts.max() >= 2 * counts.min(), f"the demo set must be imbalanced, got {counts}"
    summary = json.loads((out / "summary" / "summary.json").read_text())
    assert summary["procedural"] is True and summary["sequences"] == len(ds)
    syn = PoseDataset.load(out / "synth" / "synthetic.npz")
    assert syn.class_names == ds.class_names and syn.class_counts().min() >= 1
    for s in syn.sequences:  # every synthetic clip: bones of constant length, valid, with its provenance
        b = syn.joint_set.bones
        L = np.linalg.norm(s.xyz[:, b[:, 0]].astype(np.float64) - s.xyz[:, b[:, 1]], axis=-1)
        assert np.abs(L - L[0]).max() <= 1e-6 and s.meta["validity"]["valid"] and s.meta["sources"]
    bal = PoseDataset.load(out / "balanced" / "balanced.npz")   # 09_balance: the training split filled up to its largest class
    train = bal.split("xsub_train").class_counts()
    assert len(set(train.tolist())) == 1 and train[0] == ds.split("xsub_train").class_counts().max()
    assert len(bal.splits["real"]) == len(ds) and bal.split("xsub_test").names == ds.split("xsub_test").names
    assert all(bal.sequences[i].meta["synthetic"] for i in bal.splits["synthetic"])
    back = read_pyskl(out / "balanced" / "balanced.pkl")
    assert back.labels.tolist() == bal.labels.tolist() and sorted(back.splits) == sorted(bal.splits)


def test_second_run_skips_every_finished_stage(demo_run):
    out, first, second, mtimes = demo_run
    run = json.loads((out / "run.json").read_text())
    statuses = [s["status"] for s in run["stages"]]
    assert statuses and all(s.startswith("skipped") for s in statuses), statuses
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.ipynb")} == mtimes  # reports not rewritten


def test_reports_read_top_to_bottom(demo_run):
    """every executed notebook is valid nbformat, ran every code cell in order, and holds no error"""
    out, *_ = demo_run
    reports = sorted(out.glob("*.ipynb"))
    assert {p.name for p in reports} == {"90_testing.ipynb", "00_core.ipynb", "08_synth.ipynb", "09_balance.ipynb"}
    for p in reports:
        nb = nbformat.read(p, as_version=4)
        nbformat.validate(nb)
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        assert all(n is not None for n in counts), f"{p.name}: a code cell did not run"
        assert counts == sorted(counts), f"{p.name}: cells ran out of order"
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{p.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    text = (out / "90_testing.ipynb").read_text()
    assert "procedural" in text.lower()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def test_reports_open_in_jupyterlab(demo_run, tmp_path):
    """a real JupyterLab 4 server serves the run directory: the lab page loads and every report opens as a notebook"""
    out, *_ = demo_run
    port, token = _free_port(), "autopose-test"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    lab = subprocess.Popen([str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", f"--port={port}",
                            "--ip=127.0.0.1", "--allow-root", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={out}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                _get(f"{base}/api/status", token); break
            except OSError:
                if lab.poll() is not None: pytest.fail(f"jupyter lab exited: {lab.stderr.read().decode()[-2000:]}")
                time.sleep(0.5)
        status, page = _get(f"{base}/lab/tree/00_core.ipynb", token)
        assert status == 200 and b"JupyterLab" in page
        for p in sorted(out.glob("*.ipynb")):
            status, body = _get(f"{base}/api/contents/{p.name}?content=1", token)
            model = json.loads(body)
            assert status == 200 and model["type"] == "notebook" and model["format"] == "json", p.name
            assert model["content"]["cells"], p.name
    finally:
        lab.terminate()
        lab.wait(timeout=30)
