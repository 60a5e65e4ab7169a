"""`make demo DATA=../shared/data/msr_action3d`: the demo pipeline on a real dataset instead of the procedural one.

The runner is called as the Makefile calls it (`autopose run data/demo.toml --param data=<folder>`); the
first stage, 03_datasets, loads the folder and the rest of the pipeline runs on what it wrote.
"""
import json, subprocess, sys
from pathlib import Path

import nbformat
import pytest

from autopose.core import PoseDataset

ROOT = Path(__file__).resolve().parents[1]
AUTOPOSE = str(Path(sys.executable).with_name("autopose"))


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("demo_real") / "runs" / "demo"
    cmd = [AUTOPOSE, "run", str(ROOT / "data" / "demo.toml"), "--out", str(out), "--param", f"data={shared_data / 'msr_action3d'}"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_real_dataset_flows_through_the_demo(real_run):
    run = json.loads((real_run / "run.json").read_text())
    assert run["status"] == "done"
    assert [(s["notebook"], s["status"]) for s in run["stages"]] == [
        ("03_datasets.ipynb", "ran"), ("90_testing.ipynb", "skipped by when"), ("00_core.ipynb", "ran"), ("08_synth.ipynb", "ran"), ("09_balance.ipynb", "ran")]
    ds = PoseDataset.load(real_run / "data" / "dataset.npz")
    assert (len(ds), ds.num_classes, ds.joint_set.name, ds.meta["name"], ds.meta["procedural"]) == (557, 20, "kinect_v1_msr", "msr_action3d", False)
    assert len(ds.meta["bad_files"]) == 10 and set(ds.splits) == {"xsub_train", "xsub_test"}
    summary = json.loads((real_run / "summary" / "summary.json").read_text())
    assert summary["procedural"] is False and summary["sequences"] == 557 and len(summary["classes"]) == 20
    syn = PoseDataset.load(real_run / "synth" / "synthetic.npz")
    assert syn.joint_set.name == "kinect_v1_msr" and syn.class_counts().tolist() == [4] * 20
    train = set(ds.split("xsub_train").names)
    assert all(set(s.meta["sources"]) <= train for s in syn.sequences)  # made from training subjects only
    bal = PoseDataset.load(real_run / "balanced" / "balanced.npz")     # 09_balance: xsub_train filled up to its largest class
    counts = bal.split("xsub_train").class_counts()
    assert len(set(counts.tolist())) == 1 and counts[0] == ds.split("xsub_train").class_counts().max()
    assert bal.split("xsub_test").names == ds.split("xsub_test").names    # the test split: the same real clips
    assert all(set(bal.sequences[i].meta["sources"]) <= train for i in bal.splits["synthetic"])


def test_the_dataset_report_ran_clean(real_run):
    nb = nbformat.read(real_run / "03_datasets.ipynb", as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0]["evalue"]
    text = json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])
    assert "**msr_action3d**: 557 sequences, 20 classes, 10 subjects" in text and "a13_s09_e03_skeleton3D.txt" in text
