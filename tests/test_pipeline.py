"""The pipeline runner with real papermill and real kernels, on the tiny notebooks in fixtures/pipeline/.

10_write writes `text` to `out`; 20_upper writes `src` upper-cased plus `suffix` to `out`; 30_fail raises
while `fail`; 40_device writes the injected `device` and `seed` to a JSON file. Kernel starts dominate the
time, so each test runs as few stages as it can.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import autopose
from autopose.pipeline import (ConfigError, StageFailed, UsageError, default_notebook_dirs, load_config, plan_run,
                               read_record, record_path, run_pipeline)

FIX = Path(__file__).resolve().parent / "fixtures" / "pipeline"
BIN = Path(sys.executable).parent

TWO_STAGES = """
name = "two"
[params]
text = "hello"
suffix = "!"

[[stage]]
notebook = "10_write.ipynb"
outputs = ["data/a.txt"]
[stage.parameters]
out = "data/a.txt"
text = "{text}"

[[stage]]
notebook = "20_upper.ipynb"
outputs = ["b.txt"]
[stage.parameters]
src = "data/a.txt"
out = "b.txt"
suffix = "{suffix}"
"""

FAILING = """
name = "failing"
[params]
fail = true

[[stage]]
notebook = "10_write.ipynb"
outputs = ["a.txt"]
[stage.parameters]
text = "first"

[[stage]]
notebook = "30_fail.ipynb"
outputs = ["c.txt"]
[stage.parameters]
fail = "{fail}"
"""


def config(tmp_path, body, name="run.toml"):
    "Write a config over the fixture notebooks into tmp_path."
    p = tmp_path / name
    p.write_text(f"notebooks = {json.dumps(str(FIX))}\n" + textwrap.dedent(body))
    return p


def mtimes(run, names):
    return {n: (run / n).stat().st_mtime_ns for n in names}


def record(run, cfg, k):
    return read_record(run, cfg.stages[k])


def test_run_skip_change_and_force(tmp_path):
    cfg_path, run = config(tmp_path, TWO_STAGES), tmp_path / "run"
    cfg = load_config(cfg_path)
    assert [(s.status, s.reason) for s in plan_run(cfg, out=run).stages] == [("would run", "no record")] * 2
    res = run_pipeline(cfg_path, out=run, progress=False)
    assert res.statuses() == {"10_write.ipynb": "ran", "20_upper.ipynb": "ran"}
    # outputs written in the run directory with the injected parameters; the executed notebooks are there too
    assert (run / "data/a.txt").read_text() == "hello"
    assert (run / "b.txt").read_text() == "HELLO!"
    report = json.loads((run / "10_write.ipynb").read_text())
    injected = [c for c in report["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and 'text = "hello"' in "".join(injected[0]["source"])
    rec = record(run, cfg, 0)
    assert rec["status"] == "done" and rec["parameters"] == {"out": "data/a.txt", "text": "hello"}
    assert rec["outputs"] == ["data/a.txt"] and rec["error"] is None and rec["started"] and rec["finished"]
    assert record_path(run, cfg.stages[1]) == run / ".autopose" / "stages" / "20_upper.json"
    summary = json.loads((run / "run.json").read_text())
    assert summary["status"] == "done" and [s["status"] for s in summary["stages"]] == ["ran", "ran"]
    assert summary["params"] == {"text": "hello", "suffix": "!"} and summary["autopose_version"]
    assert summary["config"] == str(cfg_path.resolve()) and summary["name"] == "two"

    # a re-run skips both: records unchanged, nothing re-executed
    files = ["data/a.txt", "b.txt", "10_write.ipynb", "20_upper.ipynb"]
    before, recs = mtimes(run, files), [record(run, cfg, k) for k in (0, 1)]
    assert [s.status for s in plan_run(cfg, out=run).stages] == ["complete", "complete"]
    assert run_pipeline(cfg, out=run, progress=False).statuses() == {"10_write.ipynb": "skipped", "20_upper.ipynb": "skipped"}
    assert mtimes(run, files) == before and [record(run, cfg, k) for k in (0, 1)] == recs
    assert [s["status"] for s in json.loads((run / "run.json").read_text())["stages"]] == ["skipped", "skipped"]

    # a change in the second stage re-runs only it
    plan = plan_run(cfg, out=run, params={"suffix": "?"})
    assert [(s.status, s.reason) for s in plan.stages] == [("complete", "done, outputs present"), ("would run", "parameters or notebook changed")]
    assert run_pipeline(cfg, out=run, params={"suffix": "?"}, progress=False).statuses() == {"10_write.ipynb": "skipped", "20_upper.ipynb": "ran"}
    assert (run / "b.txt").read_text() == "HELLO?"
    assert mtimes(run, ["data/a.txt"]) == {"data/a.txt": before["data/a.txt"]}

    # a change in the first stage re-runs it and every stage after it (they read what it wrote)
    plan = plan_run(cfg, out=run, params={"text": "bye", "suffix": "?"})
    assert [s.reason for s in plan.stages] == ["parameters or notebook changed", "an earlier stage changed"]
    assert run_pipeline(cfg, out=run, params={"text": "bye", "suffix": "?"}, progress=False).statuses() == {"10_write.ipynb": "ran", "20_upper.ipynb": "ran"}
    assert (run / "b.txt").read_text() == "BYE?"

    # a deleted output re-runs its stage; force re-runs everything
    (run / "b.txt").unlink()
    assert [s.reason for s in plan_run(cfg, out=run, params={"text": "bye", "suffix": "?"}).stages][1] == "output missing: b.txt"
    before = mtimes(run, ["data/a.txt"])
    assert run_pipeline(cfg, out=run, params={"text": "bye", "suffix": "?"}, force=True, progress=False).statuses() == {"10_write.ipynb": "ran", "20_upper.ipynb": "ran"}
    assert mtimes(run, ["data/a.txt"]) != before and (run / "b.txt").read_text() == "BYE?"


def test_failing_stage_then_resume(tmp_path):
    cfg_path, run = config(tmp_path, FAILING), tmp_path / "run"
    cfg = load_config(cfg_path)
    with pytest.raises(StageFailed) as ei:
        run_pipeline(cfg_path, out=run, progress=False)
    msg = str(ei.value)
    assert msg.startswith("stage 2/2 (30_fail.ipynb) failed: ValueError: fixture stage failed on purpose")
    assert f"notebook: {FIX / '30_fail.ipynb'}" in msg
    assert f"open the executed notebook for the details: {run.resolve() / '30_fail.ipynb'}" in msg
    assert ei.value.error == {"ename": "ValueError", "evalue": "fixture stage failed on purpose"}
    assert ei.value.result.statuses() == {"10_write.ipynb": "ran", "30_fail.ipynb": "failed"}
    rec = record(run, cfg, 1)
    assert rec["status"] == "failed" and rec["error"] == {"ename": "ValueError", "evalue": "fixture stage failed on purpose"}
    summary = json.loads((run / "run.json").read_text())
    assert summary["status"] == "failed" and [s["status"] for s in summary["stages"]] == ["ran", "failed"]
    assert (run / "a.txt").read_text() == "first"  # the finished stage's output survives
    executed = json.loads((run / "30_fail.ipynb").read_text())  # the report holds the traceback
    assert any(o.get("ename") == "ValueError" for c in executed["cells"] for o in c.get("outputs", []))

    # fixed by a parameter change: the re-run skips the first stage and resumes at the failed one
    before = mtimes(run, ["a.txt", "10_write.ipynb"])
    res = run_pipeline(cfg_path, out=run, params={"fail": False}, progress=False)
    assert res.statuses() == {"10_write.ipynb": "skipped", "30_fail.ipynb": "ran"}
    assert mtimes(run, ["a.txt", "10_write.ipynb"]) == before and (run / "c.txt").read_text() == "ok"
    assert record(run, cfg, 1)["status"] == "done" and record(run, cfg, 1)["error"] is None


def test_missing_output_is_a_failure(tmp_path):
    cfg_path = config(tmp_path, """
        [[stage]]
        notebook = "10_write.ipynb"
        outputs = ["a.txt", "not/written.txt"]
        """)
    run = tmp_path / "run"
    with pytest.raises(StageFailed) as ei:
        run_pipeline(cfg_path, out=run, progress=False)
    assert str(ei.value).startswith("stage 1/1 (10_write.ipynb) did not write its declared outputs: not/written.txt")
    rec = record(run, load_config(cfg_path), 0)
    assert rec["status"] == "failed" and rec["error"]["ename"] == "MissingOutputs" and rec["error"]["missing"] == ["not/written.txt"]


def test_when_override_only_and_device(tmp_path, monkeypatch):
    cfg_path = config(tmp_path, """
        device = "auto"
        seed = 5
        [params]
        mode = "b"
        src = "missing.txt"

        [[stage]]
        notebook = "10_write.ipynb"
        when = "mode == a"
        outputs = ["a.txt"]
        [stage.parameters]
        text = "{mode}"

        [[stage]]
        notebook = "20_upper.ipynb"
        outputs = ["b.txt"]
        [stage.parameters]
        src = "{src}"

        [[stage]]
        notebook = "40_device.ipynb"
        outputs = ["device.json"]
        """)
    cfg, run = load_config(cfg_path), tmp_path / "run"
    (tmp_path / "input.txt").write_text("from the caller")
    monkeypatch.chdir(tmp_path)  # --param paths are relative to the caller's working directory
    res = run_pipeline(cfg_path, out="run", params={"src": "input.txt"}, progress=False)
    assert res.statuses() == {"10_write.ipynb": "skipped by when", "20_upper.ipynb": "ran", "40_device.ipynb": "ran"}
    assert not (run / "a.txt").exists() and not (run / "10_write.ipynb").exists()
    assert (run / "b.txt").read_text() == "FROM THE CALLER"  # made absolute: the notebook ran in the run directory
    assert record(run, cfg, 1)["parameters"] == {"src": str(tmp_path.resolve() / "input.txt")}  # no device, no seed
    assert json.loads((run / "device.json").read_text()) == {"device": "cpu", "seed": 5}  # 'auto' resolved, seed injected
    assert res.device == "cpu" and json.loads((run / "run.json").read_text())["resolved_device"] == "cpu"

    # only: the first stage alone; the others are left as they are
    before = mtimes(run, ["b.txt", "device.json"])
    res = run_pipeline(cfg_path, out="run", params={"mode": "a", "src": "input.txt"}, only="10_write", progress=False)
    assert res.statuses() == {"10_write.ipynb": "ran", "20_upper.ipynb": "not selected", "40_device.ipynb": "not selected"}
    assert (run / "a.txt").read_text() == "a" and mtimes(run, ["b.txt", "device.json"]) == before
    # the first stage now runs before them, so a full run would re-run them
    plan = plan_run(cfg_path, out="run", params={"mode": "a", "src": "input.txt"})
    assert [s.status for s in plan.stages] == ["complete", "would run", "would run"]
    assert [s.status for s in plan_run(cfg_path, out="run", params={"mode": "a", "src": "input.txt"}, device="cpu", only=["20_upper.ipynb"]).stages] \
        == ["not selected", "would run", "not selected"]


@pytest.mark.parametrize("edit, contains", [
    (lambda t: t.replace('text = "{text}"', 'txt = "{text}"'),
     "stage 1/2 (10_write.ipynb): parameter 'txt' is not declared in the parameters cell of"),
    (lambda t: t.replace('suffix = "{suffix}"', 'sufix = "{suffix}"'),
     "stage 2/2 (20_upper.ipynb): parameter 'sufix' is not declared in the parameters cell of"),
])
def test_undeclared_parameter_refused_before_anything_runs(tmp_path, edit, contains):
    cfg_path, run = config(tmp_path, edit(TWO_STAGES)), tmp_path / "run"
    with pytest.raises(ConfigError) as ei:
        run_pipeline(cfg_path, out=run, progress=False)
    assert f"{cfg_path}: " + contains in str(ei.value) and str(FIX) in str(ei.value)
    assert "it declares: " in str(ei.value)
    assert not run.exists()  # not even the first stage ran


@pytest.mark.parametrize("edit, contains", [
    (lambda t: t.replace('"{text}"', '"{txt}"'), "stage 1 (10_write.ipynb): parameters.text: {txt} is not defined in [params]; defined: suffix, text"),
    (lambda t: t.replace('outputs = ["b.txt"]', 'outputs = ["{where}/b.txt"]'), "stage 2 (20_upper.ipynb): outputs[0]: {where} is not defined in [params]"),
    (lambda t: t.replace('outputs = ["b.txt"]', 'outputs = ["b.txt"]\nwhen = "text is hello"'),
     "stage 2 (20_upper.ipynb): when: expected '<param> == <value>' or '<param> != <value>', got 'text is hello'"),
    (lambda t: t.replace('outputs = ["b.txt"]', 'outputs = ["b.txt"]\nwhen = "mode == x"'), "stage 2 (20_upper.ipynb): when: 'mode' is not defined in [params]"),
    (lambda t: t.replace("20_upper.ipynb", "21_lower.ipynb"), "stage 2 (21_lower.ipynb): notebook '21_lower.ipynb' not found in"),
    (lambda t: t.replace('outputs = ["b.txt"]', ""), "stage 2 (20_upper.ipynb): outputs: expected a non-empty list of paths"),
    (lambda t: t.replace('outputs = ["b.txt"]', "outputs = []"), "stage 2 (20_upper.ipynb): outputs: expected a non-empty list of paths"),
    (lambda t: t.replace('outputs = ["b.txt"]', 'output = ["b.txt"]'), "stage 2: unknown key 'output'; expected one of: notebook, when, outputs, parameters"),
    (lambda t: t.replace('name = "two"', 'name = "two"\nseeds = 1'), "top level: unknown key 'seeds'"),
    (lambda t: t.replace('name = "two"', 'name = "two"\ndevice = "gpu"'), "device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu'"),
    (lambda t: t.replace('name = "two"', 'name = "two'), "not valid TOML: "),
    (lambda t: t.replace("[[stage]]", "[[stages]]").replace("[stage.", "[stages."), "top level: unknown key 'stages'"),
])
def test_config_errors(tmp_path, edit, contains):
    cfg_path = config(tmp_path, edit(TWO_STAGES))
    with pytest.raises(ConfigError) as ei:
        load_config(cfg_path)
    assert str(ei.value).startswith(f"{cfg_path}: ") and contains in str(ei.value), str(ei.value)


def test_argument_errors(tmp_path):
    cfg_path = config(tmp_path, TWO_STAGES)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="notebooks: .* is not a folder"):
        (tmp_path / "nb.toml").write_text('notebooks = "nowhere"\n' + TWO_STAGES)
        load_config(tmp_path / "nb.toml")
    with pytest.raises(UsageError, match=r"param 'txt' is not defined in \[params\] of .*run.toml; defined: suffix, text"):
        plan_run(cfg_path, params={"txt": "x"})
    with pytest.raises(UsageError, match="only: '30_x' names no stage of .*; stages: 10_write, 20_upper"):
        plan_run(cfg_path, only="10_write,30_x")


def test_default_notebooks_folder(tmp_path):
    """without `notebooks`, stage notebooks come from the repo's nbs/ (editable install) or the installed copies"""
    repo_nbs = Path(autopose.__file__).resolve().parents[1] / "nbs"
    dirs = default_notebook_dirs()
    assert dirs[-1] == Path(sys.prefix) / "share" / "autopose" / "nbs"
    if (repo_nbs.parent / "settings.ini").is_file():
        assert dirs[0] == repo_nbs
    p = tmp_path / "core.toml"
    p.write_text('[[stage]]\nnotebook = "00_core.ipynb"\noutputs = ["summary/summary.json"]\n[stage.parameters]\nout_dir = "summary"\n')
    cfg = load_config(p)
    assert cfg.name == "core" and cfg.stages[0].path.parent in dirs
    p.write_text('[[stage]]\nnotebook = "99_nothing.ipynb"\noutputs = ["x"]\n')
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    assert "notebook '99_nothing.ipynb' not found in " + " or ".join(map(str, dirs)) in str(ei.value)


def cli(*args, module=False, cwd=None):
    cmd = [sys.executable, "-m", "autopose"] if module else [str(BIN / "autopose")]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          env=os.environ | {"COLUMNS": "120"})


def test_cli(tmp_path):
    cfg_path, run = config(tmp_path, TWO_STAGES), tmp_path / "run"
    assert (BIN / "autopose").is_file(), "the autopose console script is not installed next to sys.executable"

    r = cli("run", cfg_path, "--out", run, "--dry-run")
    assert r.returncode == 0 and "would run" in r.stdout and not run.exists(), r.stderr

    r = cli("run", cfg_path, "--out", run, "--param", "suffix=?", "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert [l.split()[-1] for l in r.stdout.splitlines()[1:3]] == ["ran", "ran"] and f"run directory: {run.resolve()}" in r.stdout
    assert (run / "b.txt").read_text() == "HELLO?"
    assert "Traceback" not in r.stderr and "without encryption" not in r.stderr and "KeyboardInterrupt" not in r.stderr

    r = cli("run", cfg_path, "--out", run, "--param", "suffix=?", module=True, cwd=tmp_path)
    assert r.returncode == 0 and [l.split()[-1] for l in r.stdout.splitlines()[1:3]] == ["skipped", "skipped"], r.stderr

    r = cli("plan", cfg_path, "--out", run)  # suffix back to '!': the second stage would run
    assert r.returncode == 0, r.stderr
    assert "complete" in r.stdout.splitlines()[1] and "would run" in r.stdout.splitlines()[2]

    # default run directory: runs/<name> under the working directory
    r = cli("plan", cfg_path, module=True, cwd=tmp_path)
    assert r.returncode == 0 and f"run directory: {tmp_path.resolve() / 'runs' / 'two'}" in r.stdout, r.stderr


def test_cli_errors(tmp_path):
    fail_cfg, run = config(tmp_path, FAILING), tmp_path / "run"
    r = cli("run", fail_cfg, "--out", run, "--only", "30_fail", module=True)
    assert r.returncode == 1
    assert "autopose: error: stage 2/2 (30_fail.ipynb) failed: ValueError: fixture stage failed on purpose" in r.stderr
    assert str(FIX / "30_fail.ipynb") in r.stderr and str(run.resolve() / "30_fail.ipynb") in r.stderr
    assert "Traceback" not in r.stderr

    for args, code, message in [
        (("run", tmp_path / "none.toml"), 1, "none.toml: no such config file"),
        (("plan", config(tmp_path, TWO_STAGES.replace('"{text}"', '"{txt}"'), "bad.toml")), 1, "{txt} is not defined in [params]"),
        (("run", fail_cfg, "--param", "fail"), 2, "--param 'fail': expected KEY=VALUE"),
        (("run", fail_cfg, "--param", "fial=false"), 2, "param 'fial' is not defined in [params]"),
        (("run", fail_cfg, "--param", "fail=maybe"), 2, "param fail='maybe': expected true or false"),
        (("plan", fail_cfg, "--only", "99_x"), 2, "only: '99_x' names no stage"),
        (("run",), 2, "the following arguments are required: CONFIG"),
        (("run", fail_cfg, "--device", "tpu"), 2, "invalid choice: 'tpu'"),
    ]:
        r = cli(*args)
        assert r.returncode == code and message in r.stderr and "Traceback" not in r.stderr, (args, r.returncode, r.stderr)
