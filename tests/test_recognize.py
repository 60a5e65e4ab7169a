"""Recognizers, training, metrics and the imbalance harness: what does not fit in the 12_recognize lesson."""
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
import torch

from autopose.core import PoseDataset, PoseSequence, get_joint_set, joint_set_names
from autopose.kinematic import KinematicAugment
from autopose import recognize as R
from autopose.recognize import (MODELS, ClassicAugment, build_model, canonical_view, classification_metrics, confusion_matrix,
                                fill_missing, fit, make_imbalanced, oversample, predict, prepare_clips, train_and_evaluate)
from autopose.testing import procedural_dataset

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    return procedural_dataset(seed=0, joint_set="kinect_v1_msr", n_subjects=4, max_per_class=6, imbalance=1.0, noise_std=0.01)


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ---------------------------------------------------------------- models
@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("js", joint_set_names())
def test_every_model_on_every_joint_set(kind, js):
    """each model builds on each registered joint set; (B, T, J, 3) -> finite (B, K) logits, gradients flow"""
    J = len(get_joint_set(js))
    m = build_model(kind, js, 4, seed=0)
    x = torch.randn(3, 16, J, 3, generator=torch.Generator().manual_seed(0))
    out = m(x)
    assert out.shape == (3, 4) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters() if p.requires_grad)
    with pytest.raises(ValueError, match=rf"expected clips \(B, T, J, 3\) with J={J}"):
        m(torch.zeros(2, 16, J + 1, 3))


@pytest.mark.parametrize("kind", list(MODELS))
def test_init_depends_only_on_seed(kind):
    """same (kind, joint set, K, seed) -> bit-identical weights whatever the global torch seed; another seed differs"""
    torch.manual_seed(1); a = build_model(kind, "ntu25", 5, seed=3)
    torch.manual_seed(2); b = build_model(kind, "ntu25", 5, seed=3)
    assert _same_state(a, b)
    assert not _same_state(a, build_model(kind, "ntu25", 5, seed=4))
    state = torch.random.get_rng_state()
    build_model(kind, "ntu25", 5, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())      # building draws nothing from the global generator


def test_arms_start_from_identical_weights(demo, monkeypatch):
    """every arm of one seed (plain, oversampled, with the classic transform) starts training from the same weights"""
    seen = []
    real_fit = R.fit
    def spy(model, X, y, **kw):
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return real_fit(model, X, y, **kw)
    monkeypatch.setattr(R, "fit", spy)
    tr, te = demo.split("xsub_train"), demo.split("xsub_test")
    imb, minority = make_imbalanced(tr, 3, 1, seed=0)
    for train, tf in ((imb, None), (oversample(imb, 0), None), (imb, ClassicAugment()), (tr, ClassicAugment())):
        R.train_and_evaluate(train, te, model="stgcn", seed=7, steps=1, transform=tf, minority=minority, device="cpu")
    assert len(seen) == 4
    for s in seen[1:]:
        assert all(torch.equal(seen[0][k], s[k]) for k in s)


# ---------------------------------------------------------------- determinism and learning
def test_same_seed_same_metrics(demo):
    """same seed and arm -> identical metrics and loss; another seed -> a different run"""
    tr, te = demo.split("xsub_train"), demo.split("xsub_test")
    run = lambda seed: {k: v for k, v in train_and_evaluate(tr, te, model="tcn", seed=seed, steps=15, transform=ClassicAugment(),
                                                          device="cpu", batch_size=8).items() if k != "model"}
    a, b, c = run(0), run(0), run(1)
    assert a == b
    assert a["final_loss"] != c["final_loss"]


@pytest.mark.parametrize("kind,steps", [("tcn", 60), ("stgcn", 100)])
def test_learning_happens(demo, kind, steps):
    """a separable procedural set (10 actions, held-out subjects) is learnt within the step budget"""
    tr, te = demo.split("xsub_train"), demo.split("xsub_test")
    res = train_and_evaluate(tr, te, model=kind, steps=steps, transform=ClassicAugment(), device="cpu", batch_size=16)
    assert res["top1"] >= 0.8, res["per_class_recall"]
    assert res["final_loss"] < 1.0


def test_fixed_step_budget(demo):
    """the number of optimiser steps is the budget, whatever the size of the training set"""
    tr = demo.split("xsub_train")
    for data in (tr, oversample(make_imbalanced(tr, 3, 1)[0])):
        m = build_model("tcn", tr.joint_set, tr.num_classes)
        assert len(fit(m, prepare_clips(data), data.labels, steps=7, device="cpu")) == 7
    order = R._batches(5, 32, 4, np.random.default_rng(0))
    assert order.shape == (4, 5) and all(sorted(o) == list(range(5)) for o in order)   # batch = N when N < batch_size


# ---------------------------------------------------------------- metrics against oracles
def _oracle(y_true, y_pred, K, minority):
    cm = [[0] * K for _ in range(K)]
    for t, p in zip(y_true, y_pred): cm[t][p] += 1
    rec = [cm[k][k] / sum(cm[k]) if sum(cm[k]) else None for k in range(K)]
    mean = lambda v: sum(x for x in v if x is not None) / len([x for x in v if x is not None])
    return cm, rec, mean(rec), mean([rec[k] for k in minority]), mean([rec[k] for k in range(K) if k not in minority])


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_a_loop_oracle(seed):
    """confusion, per-class recall, balanced accuracy, minority/majority recall = plain-Python loops (sklearn-free)"""
    rng = np.random.default_rng(seed)
    K = 7
    y_true = rng.integers(0, K - 1, 60)              # class K-1 never in the test set
    y_pred = np.where(rng.random(60) < 0.6, y_true, rng.integers(0, K, 60))
    minority = [1, 4, K - 1]
    cm, rec, bal, mino, majo = _oracle(y_true.tolist(), y_pred.tolist(), K, minority)
    m = classification_metrics(y_true, y_pred, K, minority)
    assert m["confusion"] == cm and confusion_matrix(y_true, y_pred, K).tolist() == cm
    assert m["per_class_recall"][-1] is None
    np.testing.assert_allclose([r for r in m["per_class_recall"][:-1]], rec[:-1], rtol=0, atol=1e-15)
    np.testing.assert_allclose([m["balanced_accuracy"], m["minority_recall"], m["majority_recall"]], [bal, mino, majo], atol=1e-15)
    assert m["top1"] == pytest.approx(np.mean(y_true == y_pred), abs=1e-15)


def test_metrics_hand_computed():
    """a 2-class case by hand: 9 of class 0 (all right), 1 of class 1 (wrong): top-1 0.9, balanced 0.5"""
    m = classification_metrics(np.array([0] * 9 + [1]), np.zeros(10, int), 2, minority=[1])
    assert (m["top1"], m["balanced_accuracy"], m["minority_recall"], m["majority_recall"]) == (0.9, 0.5, 0.0, 1.0)
    assert m["support"] == [9, 1] and m["confusion"] == [[9, 0], [1, 0]]


# ---------------------------------------------------------------- preprocessing
def test_fill_missing_gaps_and_edges():
    """linear motion with gaps is restored exactly; edges are held; the result has no NaN"""
    t = np.arange(10, dtype=np.float32)
    x = np.stack([np.stack([t, 2 * t, -t], -1)] * 4, 1)        # (10, 4, 3) every joint moving linearly
    g = x.copy(); g[2:5, 1] = np.nan; g[0:3, 2] = np.nan; g[7:, 3] = np.nan
    f = fill_missing(g, root=0)
    np.testing.assert_allclose(f[:, 1], x[:, 1], atol=1e-6)
    np.testing.assert_allclose(f[:3, 2], np.repeat(x[3:4, 2], 3, 0), atol=1e-6)    # held before the first observation
    np.testing.assert_allclose(f[7:, 3], np.repeat(x[6:7, 3], 3, 0), atol=1e-6)    # held after the last
    assert not np.isnan(f).any()


def test_canonical_view_is_invariant_to_heading_and_position(demo):
    """canonical(R_y(a) x + t) = canonical(x) for any heading a and offset t: the view is normalised away"""
    js = demo.joint_set
    x = demo[3].xyz
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = rng.uniform(-np.pi, np.pi); c, s = np.cos(a), np.sin(a)
        Ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float32)
        moved = x @ Ry.T + rng.uniform(-2, 2, 3).astype(np.float32)
        np.testing.assert_allclose(canonical_view(moved, js), canonical_view(x, js), atol=1e-4)


def test_prepare_clips_with_nans(demo):
    """clips with gaps, a never-seen joint and whole missing frames give finite arrays; an all-NaN clip is named"""
    js = demo.joint_set
    xyz = demo[0].xyz.copy()
    xyz[4:10] = np.nan                   # whole frames lost
    xyz[:, js.index("left_foot")] = np.nan
    X = prepare_clips([PoseSequence(js, 30, xyz=xyz), demo[1]], T=24)
    assert X.shape == (2, 24, len(js), 3) and np.isfinite(X).all()
    np.testing.assert_allclose(X[0, :, js.index("left_foot")], X[0, :, js.root], atol=1e-6)   # never seen: on the root
    bad = PoseSequence(js, 30, xyz=np.full((5, len(js), 3), np.nan), meta={"file": "lost.txt"})
    with pytest.raises(ValueError, match=r"data\[1\] \(lost.txt\): xyz: expected at least one observed"):
        prepare_clips([demo[0], bad])


def test_classic_augment_is_a_similarity_per_clip(demo):
    """with crop and noise off, each clip is rotated about y and scaled: bone lengths scale by one factor per clip"""
    js = demo.joint_set
    X = prepare_clips(demo)[:6]
    Y = ClassicAugment(noise_std=0, crop=(1, 1))(X, np.random.default_rng(0))
    bl = lambda Z: np.linalg.norm(Z[:, :, js.bones[:, 0]] - Z[:, :, js.bones[:, 1]], axis=-1)
    ratio = bl(Y) / bl(X)
    np.testing.assert_allclose(ratio, ratio[:, :1, :1] * np.ones_like(ratio), rtol=1e-4)
    assert ((ratio[:, 0, 0] >= 0.9 - 1e-6) & (ratio[:, 0, 0] <= 1.1 + 1e-6)).all()


# ---------------------------------------------------------------- protocol
def test_make_imbalanced_protocol(demo):
    """minority classes from the seed; k clips each, nested in k; the other classes and the test split untouched"""
    tr = demo.split("xsub_train")
    sets = [make_imbalanced(tr, 4, k, seed=5) for k in (1, 2, 3)]
    assert all(m == sets[0][1] for _, m in sets) and len(sets[0][1]) == 4
    for k, (d, m) in zip((1, 2, 3), sets):
        counts = d.class_counts()
        assert (counts[m] == k).all()
        assert all(counts[c] == tr.class_counts()[c] for c in range(tr.num_classes) if c not in m)
    assert set(sets[0][0].names) <= set(sets[1][0].names) <= set(sets[2][0].names)
    assert make_imbalanced(tr, 4, 1, seed=6)[1] != sets[0][1] or make_imbalanced(tr, 4, 1, seed=7)[1] != sets[0][1]


def test_oversample_balances_and_keeps_clips(demo):
    tr = demo.split("xsub_train")
    imb, m = make_imbalanced(tr, 3, 1, seed=0)
    ov = oversample(imb, np.random.default_rng(0))
    assert (ov.class_counts() == imb.class_counts().max()).all()
    assert set(imb.names) <= set(ov.names) and len(set(ov.names)) == len(ov)
    assert {n.split("#")[0] for n in ov.names} == set(imb.names)    # only copies of the clips it had


# ---------------------------------------------------------------- bad input
def test_bad_inputs_have_clear_errors(demo):
    tr, te = demo.split("xsub_train"), demo.split("xsub_test")
    empty = PoseDataset([], np.zeros(0, int), tr.class_names, joint_set=tr.joint_set)
    with pytest.raises(ValueError, match="train: expected at least one clip, got an empty dataset"):
        train_and_evaluate(empty, te, steps=1, device="cpu")
    with pytest.raises(ValueError, match="test: expected at least one clip, got an empty dataset"):
        train_and_evaluate(tr, empty, steps=1, device="cpu")
    ntu = procedural_dataset(seed=0, joint_set="ntu25", actions=["walk", "wave"], n_subjects=2, max_per_class=2)
    other = PoseDataset(list(ntu.sequences), ntu.labels, tr.class_names[:2])
    with pytest.raises(ValueError, match="test.joint_set: expected the training set's 'kinect_v1_msr', got 'ntu25'"):
        train_and_evaluate(tr.subset(np.flatnonzero(tr.labels < 2)), other, steps=1, device="cpu")
    m = build_model("tcn", tr.joint_set, tr.num_classes)
    X = prepare_clips(tr)
    with pytest.raises(ValueError, match=r"y: expected labels in \[0, 10\) for a 10-class model, got labels in \[-1, 9\]"):
        fit(m, X, np.r_[-1, tr.labels[1:]], steps=1, device="cpu")
    with pytest.raises(ValueError, match=r"expected clips \(B, T, J, 3\) with J=20 .* got shape \(2, 32, 25, 3\)"):
        predict(m, prepare_clips(ntu)[:2], device="cpu")
    with pytest.raises(ValueError, match="num_classes: expected >= 2"):
        build_model("stgcn", "coco17", 1)
    with pytest.raises(KeyError, match="unknown kind 'gru'"):
        build_model("gru", "coco17", 3)
    with pytest.raises(ValueError, match=r"device: expected 'auto', 'cpu' or 'cuda\[:N\]'"):
        fit(m, X, tr.labels, steps=1, device="tpu")


# ---------------------------------------------------------------- real data
def test_real_datasets_preprocess(shared_data):
    """every MSR Action3D (557) and UTKinect (199) clip preprocesses to a finite canonical clip facing +z"""
    from autopose.datasets import load_dataset
    for name, n in (("msr_action3d", 557), ("utkinect", 199)):
        ds = load_dataset(name, shared_data / name)
        assert len(ds) == n
        X = prepare_clips(ds, T=32)
        assert X.shape == (n, 32, 20, 3) and np.isfinite(X).all()
        np.testing.assert_allclose(X[:, 0, ds.joint_set.root], 0, atol=1e-5)    # root of frame 0 at the origin
        pairs = R._lr_axis_pairs(ds.joint_set)
        for s in ds.sequences[::5]:
            c = canonical_view(fill_missing(s.xyz, ds.joint_set.root), ds.joint_set)
            lr = (c[:, pairs[:, 0]] - c[:, pairs[:, 1]]).mean((0, 1))           # the mean left-right axis
            assert lr[0] > 0.05 and abs(lr[2]) < 1e-5 * lr[0] + 1e-6, (s.meta, lr)


# ---------------------------------------------------------------- the harness
def test_bench_arms_follow_the_contract(demo, bench):
    """every registered arm maps (train, rng) to (a PoseDataset on the same classes, a transform or None)"""
    b = bench("imbalance")
    assert {"none", "oversample", "classic", "oversample+classic"} <= set(b.ARMS)
    assert set(b.MAIN_ARMS) <= set(b.ARMS) and b.parse([]).arms == list(b.MAIN_ARMS)   # the README's command: the main table's arms
    imb, _ = make_imbalanced(demo.split("xsub_train"), 3, 1)
    X = prepare_clips(imb)[:4]
    for name, a in b.ARMS.items():
        train, tf = a.fn(imb, np.random.default_rng(0))
        assert isinstance(train, PoseDataset) and train.class_names == imb.class_names, name
        if tf is not None: assert tf(X, np.random.default_rng(0)).shape == X.shape, name


def test_bench_summary_paired_differences(bench):
    """the best baseline is the baseline with the highest mean minority recall; differences are paired per seed"""
    b = bench("imbalance")
    runs = []
    for seed, (none_, over, cls) in enumerate([(0.1, 0.3, 0.2), (0.2, 0.4, 0.45)]):
        for arm, mr in (("none", none_), ("oversample", over), ("classic", cls)):
            runs.append(dict(dataset="d", seed=seed, k=1, arm=arm, minority_recall=mr, majority_recall=0.9,
                             balanced_accuracy=0.5, top1=0.6))
    s = b.summarise(runs, ["none", "oversample", "classic"])["d"]["1"]
    assert s["best_baseline"] == "oversample"                       # mean minority recall 0.35 > 0.325 (classic) > 0.15
    np.testing.assert_allclose(s["arms"]["classic"]["diff_minority_recall"], [-0.1, 0.05], atol=1e-12)
    np.testing.assert_allclose(s["arms"]["none"]["diff_minority_recall"], [-0.2, -0.2], atol=1e-12)
    md = b.markdown({"d": {"1": s}}, {"d": dict(n_minority=1, classes=3, n_train=9, n_test=9)})
    assert "| 1 | **oversample** |" in md and "| 1 | none | 15.0 ± 7.1 |" in md


def _cli(shared_data, out, *extra):
    r = subprocess.run([sys.executable, str(REPO / "bench" / "imbalance.py"), "--datasets", "utkinect", "--data", str(shared_data),
                        "--seeds", "1", "--k", "1", "--arms", "none,oversample", "--full-arms", "none", "--steps", "3",
                        "--out", str(out), *extra], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_bench_model_options(bench, capsys):
    """--model-kw reaches the recognizer and the run's key (an ST-GCN's key names its architecture, the TCN's keys stay as they were);
    an option the recognizer does not take is refused"""
    b = bench("imbalance")
    a = b.parse(["--model", "stgcn", "--model-kw", '{"adaptive": false}'])
    job = b.jobs_of(a)[0]
    assert job["model_kw"] == {"adaptive": False}
    key = json.loads(b.job_key(job))
    assert key["architecture"] == {"channels": [16, 32, 64], "strides": [2, 2, 1], "kernel_t": 5, "adaptive": False}
    assert json.loads(b.job_key(b.jobs_of(b.parse(["--model", "stgcn"]))[0]))["architecture"]["adaptive"] is True
    assert "architecture" not in json.loads(b.job_key(b.jobs_of(b.parse([]))[0]))
    with pytest.raises(SystemExit):
        b.parse(["--model", "stgcn", "--model-kw", '{"adaptiv": false}'])
    assert "--model / --model-kw: STGCN.__init__() got an unexpected keyword argument 'adaptiv'" in capsys.readouterr().err


def test_bench_donor_arm_makes_donor_clips(bench, shared_data):
    """the donor arm really makes clips from another class's part for MSR's one-clip classes (not silently autopose+classic)"""
    b = bench("imbalance")
    train = b.validation_split(b.load("msr_action3d", str(shared_data)).split("xsub_train"))[0]
    imb, minority = make_imbalanced(train, 5, 1, seed=1)
    seqs, labels = b.donor_clips(imb, minority, {c: 2 for c in minority}, np.random.default_rng(0))
    assert len(seqs) >= 4 and set(labels) <= set(minority) and all(np.isfinite(x).all() for x in seqs)
    need = b.fill_counts(imb)
    made, _ = b.donor_clips(imb, minority, {c: need[c] // 2 for c in minority}, np.random.default_rng(0))   # what the arm draws first
    full, _ = b.ARMS["autopose+classic+donor"].fn(imb, np.random.default_rng(0))
    assert len(made) >= 4 and len(full) <= len(imb) + sum(need)                    # the donor clips count in the fill
    for x, s in zip(made, full.sequences[-len(made):]): np.testing.assert_allclose(s.xyz, x, atol=1e-6)   # appended last


def test_bench_copy_single_leaves_single_source_clips_unvaried(bench, shared_data):
    """+copy_single: the synthetic clips of a one-clip class are its clip, mirrored or not (two distinct clips at most),
    where autopose+classic varies every one"""
    b = bench("imbalance")
    train = b.validation_split(b.load("msr_action3d", str(shared_data)).split("xsub_train"))[0]
    imb, minority = make_imbalanced(train, 5, 1, seed=1)

    def distinct(arm):
        out, _ = b.ARMS[arm].fn(imb, np.random.default_rng(0))
        per = {c: [s.xyz for s, l in zip(out.sequences[len(imb):], out.labels[len(imb):]) if l == c] for c in minority}
        return {c: (len(xs), len({np.round(x, 4).tobytes() for x in xs})) for c, xs in per.items() if xs}
    copy, varied = distinct("autopose+classic+copy_single"), distinct("autopose+classic")
    assert len(copy) >= 3 and all(n >= 4 and d <= 2 for n, d in copy.values()), copy
    assert all(d == n for n, d in varied.values()), varied


def test_bench_cli_tiny_run_and_resume(shared_data, tmp_path):
    """the harness end to end on UTKinect (1 seed, k=1, two arms + a full-data row, 3 steps): JSON + markdown;
    --resume keeps the finished runs of an interrupted invocation and retrains the rest to the same numbers"""
    out = tmp_path / "imb"
    stdout = _cli(shared_data, out)
    assert stdout.startswith("machine: ") and "settings: " in stdout
    res = json.loads(out.with_suffix(".json").read_text())
    assert [(x["arm"], x["k"]) for x in res["runs"]] == [("none", 1), ("oversample", 1), ("none", None)]
    assert res["datasets"]["utkinect"]["n_test"] == 99 and len(res["datasets"]["utkinect"]["minority_classes"]["0"]) == 3
    md = out.with_suffix(".md").read_text()
    assert "| 1 | none |" in md and "| full | **none** |" in md
    assert not out.with_suffix(".partial.jsonl").exists()
    out2 = tmp_path / "again"                           # an invocation interrupted after two runs
    out2.with_suffix(".partial.jsonl").write_text("".join(json.dumps(r) + "\n" for r in res["runs"][:2]))
    assert "2 already done" in _cli(shared_data, out2, "--resume")
    res2 = json.loads(out2.with_suffix(".json").read_text())
    drop = lambda r: {k: v for k, v in r.items() if k != "wall_s"}
    assert [drop(r) for r in res2["runs"]] == [drop(r) for r in res["runs"]]   # the retrained run: the same numbers


def test_bench_validation_protocol_never_sees_the_test_subjects(shared_data, tmp_path, bench):
    """--protocol val trains on the training subjects but the last two and validates on those two (UTKinect: 1, 3, 5 / 7, 9);
    its runs carry the protocol in their key, so they never mix with the test protocol's under --resume"""
    b = bench("imbalance")
    ds = b.load("utkinect", str(shared_data))
    tr, va = b.validation_split(ds.split("xsub_train"))
    assert sorted(set(tr.subjects.tolist())) == [1, 3, 5] and sorted(set(va.subjects.tolist())) == [7, 9]
    assert len(tr) + len(va) == len(ds.split("xsub_train"))
    with pytest.raises(ValueError, match="expected at least 3 training subjects"): b.validation_split(tr.subset(np.isin(tr.subjects, [1, 3])))
    out = tmp_path / "val"
    _cli(shared_data, out, "--protocol", "val")
    res = json.loads(out.with_suffix(".json").read_text())
    assert res["settings"]["protocol"] == "val" and res["datasets"]["utkinect"]["test_subjects"] == [7, 9]
    assert res["datasets"]["utkinect"]["train_subjects"] == [1, 3, 5] and res["datasets"]["utkinect"]["n_test"] == len(va)
    assert all('"protocol": "val"' in r["key"] for r in res["runs"])
    job = dict(dataset="d", n_minority=1, seed=0, k=1, arm="none", model="tcn", steps=1, T=8, batch_size=2, device="cpu")
    assert b.job_key(job) == b.job_key(job | {"protocol": "test"}) != b.job_key(job | {"protocol": "val"})


def test_bench_validation_folds(shared_data, tmp_path, bench, capsys):
    """--folds N holds out N different pairs of training subjects (fold 0: the protocol's last two), never a test subject;
    a (fold, seed) is one paired unit; fold 0's runs keep the keys they had before the option"""
    b = bench("imbalance")
    ds = b.load("utkinect", str(shared_data))
    train = ds.split("xsub_train")
    folds = b.validation_folds(train.subjects.tolist())
    assert len(folds) == 10 == len(set(folds)) and folds[0] == (7, 9) and all(set(f) <= {1, 3, 5, 7, 9} for f in folds)
    for i, f in enumerate(folds):
        tr, va = b.validation_split(train, i)
        assert sorted(set(va.subjects.tolist())) == list(f) and not set(tr.subjects.tolist()) & set(f)
        assert len(tr) + len(va) == len(train)
    with pytest.raises(ValueError, match=r"expected a fold in \[0, 10\)"): b.validation_split(train, 10)
    with pytest.raises(SystemExit): b.parse(["--folds", "2"])                 # the test protocol has one split
    assert "--folds: expected 1, or more with --protocol val, got 2" in capsys.readouterr().err
    out = tmp_path / "folds"
    _cli(shared_data, out, "--protocol", "val", "--folds", "2")
    res = json.loads(out.with_suffix(".json").read_text())
    assert [(r["arm"], r["k"], r.get("fold", 0)) for r in res["runs"]] == [(a, k, f) for f in (0, 1) for a, k in (("none", 1), ("oversample", 1), ("none", None))]
    assert res["datasets"]["utkinect"]["validation_folds"] == [[7, 9], [5, 9]]
    s1 = res["summary"]["utkinect"]["1"]
    other = ({"none", "oversample"} - {s1["best_baseline"]}).pop()
    assert s1["arms"]["none"]["folds"] == [0, 1] and s1["arms"]["none"]["seeds"] == [0, 0]
    assert len(s1["arms"][other]["diff_minority_recall"]) == 2                # paired over both (fold, seed) units
    md = out.with_suffix(".md").read_text()
    assert "a seed is one (validation fold, seed) pair, 2 folds holding out subjects 7/9, 5/9." in md and "(2 validation folds; fold 0: " in md
    _cli(shared_data, tmp_path / "one", "--protocol", "val")                  # fold 0 alone, as before the option: the same keys
    one = json.loads((tmp_path / "one.json").read_text())
    assert [r["key"] for r in one["runs"]] == [r["key"] for r in res["runs"][:3]]
    assert all('"fold": 1' in r["key"] for r in res["runs"][3:])


def test_bench_kinematic_option_reaches_the_transform_and_the_key(demo, bench):
    """--kinematic sets KinematicAugment's parameters in every arm that re-poses (the classic arms keep yaw 0 and no crop);
    the key of every arm but the baselines holds the re-posing's parameters, defaults included, so that a change of the
    defaults never resumes a run made with the old ones; refused when KinematicAugment refuses it"""
    b = bench("imbalance")
    a = b.parse(["--arms", "none,autopose", "--kinematic", '{"angle_deg": 9, "amplitude": [0.7, 1.3]}'])
    assert a.kinematic == {"angle_deg": 9, "amplitude": [0.7, 1.3]}
    base, auto = b.jobs_of(a)[:2]
    assert (base["arm"], auto["arm"]) == ("none", "autopose") and auto["kinematic"] == a.kinematic
    assert '"kinematic"' not in b.job_key(base)                      # a baseline's key: as before the option
    got = json.loads(b.job_key(auto))["kinematic"]
    assert got["angle_deg"] == 9 and got["amplitude"] == [0.7, 1.3] and got["segment"] == KinematicAugment("ntu25").segment
    default = b.jobs_of(b.parse(["--arms", "autopose"]))[0]
    assert json.loads(b.job_key(default))["kinematic"] == b.reposing({}) != got
    assert b.reposing({})["warp"] == KinematicAugment("ntu25").warp > 0 and "warp" not in b.reposing({"warp": 0})   # off: the keys of the runs made before it
    imb, _ = make_imbalanced(demo.split("xsub_train"), 3, 1)
    try:
        b.KINEMATIC_KW.update(a.kinematic)
        solo, both = b.ARMS["autopose"].fn(imb, np.random.default_rng(0))[1], b.ARMS["autopose+classic"].fn(imb, np.random.default_rng(0))[1]
        no_warp = b.ARMS["autopose+classic-no_warp"].fn(imb, np.random.default_rng(0))[1].transforms[0]
    finally: b.KINEMATIC_KW.clear()
    assert (no_warp.warp, no_warp.angle_deg, no_warp.crop) == (0, 9, None) and both.transforms[0].warp == KinematicAugment("ntu25").warp > 0
    assert (solo.angle_deg, solo.amplitude, solo.yaw_deg) == (9, [0.7, 1.3], KinematicAugment("ntu25").yaw_deg)
    kin = both.transforms[0]
    assert (kin.angle_deg, kin.amplitude, kin.yaw_deg, kin.crop) == (9, [0.7, 1.3], 0, None)
    for bad in ('{"angle": 3}', '{"angle_deg": -1}', '[1, 2]', '{"amplitude": [1.2, 0.8]}'):
        with pytest.raises(SystemExit): b.parse(["--kinematic", bad])


def test_tuning_configs_are_valid_benchmark_invocations(bench):
    """every config of bench/tune_kinematic.py names a registered arm that re-poses and parameters KinematicAugment accepts,
    and its name can be a file prefix (bench/imbalance.py's --out takes suffixes off after a dot)"""
    b = bench("imbalance")
    tune = bench("tune_kinematic")
    assert set(tune.FIRST_GUESS) == set(b.reposing({}))             # the reference names every parameter: defaults may change
    for name, (arm_, kw) in tune.CONFIGS.items():
        assert "." not in name and arm_.startswith("autopose+") and "no_kinematic" not in arm_, name
        a = b.parse(["--protocol", "val", "--arms", arm_, "--kinematic", json.dumps(tune.FIRST_GUESS | kw)])   # as main() trains it
        assert a.arms == [arm_] and b.reposing(a.kinematic) == b.reposing_key(tune.FIRST_GUESS | kw) and a.protocol == "val"
    with pytest.raises(SystemExit): tune.main(["--configs", "angle12,nope"])


def test_bench_targets_are_checked_when_their_arms_ran(bench):
    """the issue's targets: autopose+classic >= +5 minority on average and on every seed, majority >= -1; autopose > o+c"""
    b = bench("imbalance")
    b.arm("autopose")(lambda train, rng: (train, None))
    b.arm("autopose+classic")(lambda train, rng: (train, None))
    def runs(gain):
        out = []
        for seed in range(3):
            for arm, mr, jr in (("oversample+classic", 0.30, 0.90), ("autopose", 0.32, 0.90), ("autopose+classic", 0.30 + gain[seed], 0.895)):
                out.append(dict(dataset="d", seed=seed, k=1, arm=arm, minority_recall=mr, majority_recall=jr, balanced_accuracy=0.5, top1=0.6))
        return b.summarise(out, ["oversample+classic", "autopose", "autopose+classic"])
    met = b.targets(runs([0.06, 0.07, 0.08]))
    assert met[0].startswith("d k=1: autopose+classic vs oversample+classic: minority +7.0 (worst seed +6.0), majority -0.5 -> MET")
    assert met[1] == "d k=1: autopose vs oversample+classic: minority +2.0 -> MET"
    assert "-> NOT MET" in b.targets(runs([0.12, 0.12, 0.03]))[0]           # +9 on average, but one seed only +3
    assert b.targets(b.summarise([], [])) == ["targets: not checked (the autopose arms were not run)"]
