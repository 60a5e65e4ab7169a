"""autopose.balance: the public `augment` API on every joint set and on bad input, balancing plans, and the balanced
dataset on real MSR Action3D clips (provenance, subjects, exact bones, the pyskl export)."""
import re
import warnings

import numpy as np
import pytest

import autopose
from autopose.balance import BalancePlan, augment, balance, balance_plan, keep_real_half, merge_synthetic, repeat_real
from autopose.core import get_joint_set, joint_set_names
from autopose.datasets import load_msr_action3d
from autopose.pyskl import read_pyskl, write_pyskl
from autopose.skeletons import convert
from autopose.validity import VALIDITY_BOUNDS
from autopose.testing import procedural_motion

SETS = [n for n in joint_set_names() if n != "procedural_body"]


def clips(joint_set, actions=("wave", "wave", "squat", "squat", "punch"), offset=(0.4, 0.0, 2.5), fps=30.0, seed=0):
    "procedural clips of `joint_set` in metres, placed away from the origin (not centred), with their labels"
    seqs = [convert(procedural_motion(a, fps=fps, rng=seed + i), joint_set).xyz + np.array(offset, np.float32) for i, a in enumerate(actions)]
    names = sorted(set(actions))
    return seqs, np.array([names.index(a) for a in actions])


def bone_dev(x, js):
    "largest change of any bone's length within a clip (m)"
    b = get_joint_set(js).bones
    L = np.linalg.norm(x[:, b[:, 0]].astype(np.float64) - x[:, b[:, 1]], axis=-1)
    return float(np.abs(L - L[:1]).max())


def test_public_name():
    assert autopose.augment is augment


@pytest.mark.parametrize("js", SETS)
def test_augment_every_joint_set(js):
    seqs, labels = clips(js)
    J = len(get_joint_set(js).joints)
    new, lab, src = augment(seqs, labels, {0: 2, 2: 2}, joint_set=js, fps=30.0, rng=np.random.default_rng(1))
    assert sorted(lab.tolist()) == [0, 0, 2, 2] and lab.dtype == np.int64
    assert len(new) == len(src) == 4
    for x, l, s in zip(new, lab, src):
        assert x.dtype == np.float32 and x.ndim == 3 and x.shape[1:] == (J, 3) and len(x) >= 2 and np.isfinite(x).all()
        assert s and all(labels[i] == l for i in s), (s, l)
        assert bone_dev(x, js) <= 1e-5                       # float32 storage of positions a few metres from the origin
        # not re-centred: the synthetic clip stands where its sources stood (within the view/shape variations)
        assert abs(np.median(x[:, 0, 2]) - 2.5) < 0.8, np.median(x[:, 0, 2])
    # the class with one clip is made from that clip alone
    assert {s for s, l in zip(src, lab) if l == 0} == {(4,)}            # punch: one clip


def test_augment_is_seeded():
    seqs, labels = clips("ntu25")
    a = augment(seqs, labels, {1: 3}, joint_set="ntu25", fps=30.0, rng=np.random.default_rng(7))
    b = augment(seqs, labels, {1: 3}, joint_set="ntu25", fps=30.0, rng=np.random.default_rng(7))
    c = augment(seqs, labels, {1: 3}, joint_set="ntu25", fps=30.0, rng=np.random.default_rng(8))
    assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0])) and a[2] == b[2]
    assert not all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a[0], c[0]))


def test_augment_zero_and_empty():
    seqs, labels = clips("h36m17")
    new, lab, src = augment(seqs, labels, {0: 0}, joint_set="h36m17", fps=30.0, rng=np.random.default_rng(0))
    assert new == [] and lab.shape == (0,) and src == []


def test_augment_z_up_round_trip():
    "clips with +z up come back with +z up: the floor is under the feet, along z"
    seqs, labels = clips("smpl22")
    zup = [np.stack([x[..., 0], -x[..., 2], x[..., 1]], -1) for x in seqs]          # LUF -> right-handed, +z up
    new, lab, _ = augment(zup, labels, {0: 2}, joint_set="smpl22", fps=30.0, rng=np.random.default_rng(0), up="z")
    for x in new:
        head, feet = get_joint_set("smpl22").joints.index("head"), [get_joint_set("smpl22").joints.index(n) for n in ("left_ankle", "right_ankle")]
        assert (x[:, head, 2] - x[:, feet, 2].mean(-1)).mean() > 1.0            # the head is ~1.5 m above the ankles along +z


def test_augment_two_frame_clips():
    seqs, labels = clips("coco17")
    short = [x[:2] for x in seqs]
    new, lab, src = augment(short, labels, {0: 2, 1: 1}, joint_set="coco17", fps=30.0, rng=np.random.default_rng(0))
    assert len(new) == 3 and all(len(x) >= 2 and np.isfinite(x).all() for x in new)


def test_augment_nan():
    seqs, labels = clips("kinect_v1_msr")
    bad = [x.copy() for x in seqs]; bad[4][4:7, 3] = np.nan                          # the one punch clip (class 0)
    with pytest.raises(ValueError, match=r"seqs\[4\]: NaN in 3 joint-frames"):
        augment(bad, labels, {0: 1}, joint_set="kinect_v1_msr", fps=30.0, rng=np.random.default_rng(0))
    # a class that is not grown is not checked: its clips are not used
    augment(bad, labels, {1: 1}, joint_set="kinect_v1_msr", fps=30.0, rng=np.random.default_rng(0))
    new, _, _ = augment(bad, labels, {0: 2}, joint_set="kinect_v1_msr", fps=30.0, rng=np.random.default_rng(0), nan="fill")
    assert len(new) == 2 and all(np.isfinite(x).all() for x in new)
    never = [x.copy() for x in seqs]; never[0][:, 5] = np.nan                        # a wave clip (class 2)
    with pytest.raises(ValueError, match=r"seqs\[0\]: xyz: joints \[5\] are missing \(NaN\) in every frame"):
        augment(never, labels, {2: 1}, joint_set="kinect_v1_msr", fps=30.0, rng=np.random.default_rng(0), nan="fill")
    inf = [x.copy() for x in seqs]; inf[0][0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"seqs\[0\]: infinite"):
        augment(inf, labels, {2: 1}, joint_set="kinect_v1_msr", fps=30.0, rng=np.random.default_rng(0))


@pytest.mark.parametrize("case, match", [
    ("wrong_j", r"seqs\[0\]: expected a \(T, 25, 3\) array for joint set 'ntu25' \(25 joints\), got shape \(\d+, 20, 3\)"),
    ("one_frame", r"seqs\[0\]: expected at least 2 frames, got 1"),
    ("flat", r"seqs\[0\]: expected a \(T, 25, 3\) array"),
    ("labels", r"labels: expected 5 integer labels"),
    ("float_labels", r"labels: expected 5 integer labels"),
    ("unknown_class", r"class 9 has no clip in seqs"),
    ("negative", r"n_needed\[0\]: expected a count >= 0"),
    ("rng", r"rng: expected a numpy.random.Generator"),
    ("fps", r"fps: expected a positive frame rate"),
    ("joint_set", r"unknown|not registered|joint set"),
    ("up", r"up: expected one of"),
])
def test_augment_bad_input(case, match):
    seqs, labels = clips("ntu25")
    kw = dict(joint_set="ntu25", fps=30.0, rng=np.random.default_rng(0)); need = {2: 1}      # class 2 (wave) holds seqs[0]
    if case == "wrong_j": seqs[0] = seqs[0][:, :20]
    if case == "one_frame": seqs[0] = seqs[0][:1]
    if case == "flat": seqs[0] = seqs[0].reshape(len(seqs[0]), -1)
    if case == "labels": labels = labels[:3]
    if case == "float_labels": labels = labels.astype(float)
    if case == "unknown_class": need = {9: 1}
    if case == "negative": need = {0: -1}
    if case == "rng": kw["rng"] = 0
    if case == "fps": kw["fps"] = 0.0
    if case == "joint_set": kw["joint_set"] = "openpose_body99"
    if case == "up": kw["up"] = "x"
    with pytest.raises((ValueError, KeyError), match=match):
        augment(seqs, labels, need, **kw)


def test_augment_warns_when_short():
    "a validity bound nothing can meet: no clip is made, and augment says so instead of returning fewer clips silently"
    seqs, labels = clips("ntu25")
    with pytest.warns(UserWarning, match=r"fewer clips than asked for classes \{'0': 2\}"):
        new, lab, _ = augment(seqs, labels, {0: 2}, joint_set="ntu25", fps=30.0, rng=np.random.default_rng(0),
                              bounds={**VALIDITY_BOUNDS, "knee_flexion_deg": -1.0}, max_tries=1)
    assert new == []


# ---------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def msr_train(shared_data):
    return load_msr_action3d(shared_data / "msr_action3d").split("xsub_train")


def test_augment_msr(msr_train):
    "the README's example on real Kinect v1 clips (not centred, raw camera coordinates turned to y up), one class cut to one clip"
    ds = msr_train
    keep = np.ones(len(ds), bool); one = np.flatnonzero(ds.labels == 3); keep[one[1:]] = False
    seqs = [s.xyz for s, k in zip(ds.sequences, keep) if k]; labels = ds.labels[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new, lab, src = augment(seqs, labels, {3: 10, 7: 5}, joint_set=ds.joint_set, fps=15.0, rng=np.random.default_rng(0), nan="fill")
    assert sorted(lab.tolist()) == [3] * 10 + [7] * 5
    i3 = int(np.flatnonzero(labels == 3)[0])
    assert all(s == (i3,) for s, l in zip(src, lab) if l == 3)
    assert all(s and all(labels[i] == 7 for i in s) for s, l in zip(src, lab) if l == 7)
    assert any(len(s) == 2 for s, l in zip(src, lab) if l == 7)              # class 7 has several clips: mixes happen
    for x in new:
        assert bone_dev(x, ds.joint_set) <= 1e-5 and np.isfinite(x).all()
    # the real clips kept at half of every class (keep_real_half): equal classes, every real clip kept, each synthetic clip once
    idx = keep_real_half(labels, lab, rng=np.random.default_rng(0))
    n, both = len(labels), np.concatenate([labels, lab])
    N = 2 * int(np.bincount(labels).max())
    assert np.bincount(both[idx]).tolist() == [N] * ds.num_classes
    assert idx[idx >= n].tolist() == list(range(n, n + len(lab))) and set(idx[idx < n].tolist()) == set(range(n))
    assert (np.bincount(both[idx[idx < n]], minlength=ds.num_classes) >= N // 2).all()


def test_balance_msr(msr_train, tmp_path):
    ds = msr_train
    plan = balance_plan(ds, 20, classes=list(ds.class_names[:4]))
    assert isinstance(plan, BalancePlan)
    assert plan.counts == {c: 20 - int(n) for c, n in zip(ds.class_names[:4], ds.class_counts()[:4]) if n < 20}
    assert "| class | real | synthetic |" in plan._repr_markdown_()
    bal = balance(ds, plan, seed=0, out=tmp_path / "syn.npz")
    counts = bal.class_counts()
    assert counts[:4].tolist() == [max(20, int(n)) for n in ds.class_counts()[:4]]
    assert counts[4:].tolist() == ds.class_counts()[4:].tolist()
    syn = bal.splits["synthetic"]
    assert len(syn) == sum(plan.counts.values()) and set(bal.splits["xsub_train"]) >= set(syn)
    for i in syn:
        s = bal.sequences[i]
        assert s.meta["synthetic"] and s.meta["validity"]["valid"] and set(s.meta["sources"]) <= set(ds.names)
        body = ds.names.index(s.meta["body"]); assert bal.subjects[i] == ds.subjects[body]
    # resumable: the second call loads every finished clip
    again = balance(ds, plan, seed=0, out=tmp_path / "syn.npz")
    assert again.meta["synthesis"]["counts"][plan.class_names[0]]["resumed"] == plan.counts[plan.class_names[0]]
    p = write_pyskl(bal, tmp_path / "balanced.pkl")
    back = read_pyskl(p, joint_set=ds.joint_set.name)
    assert back.labels.tolist() == bal.labels.tolist() and len(back.splits["synthetic"]) == len(syn)
    # the real clips kept at half of every class or more: equal classes, synthetic clips once, real ones repeated
    rr = repeat_real(bal.split("xsub_train"), rng=1)
    R, S = (np.bincount(bal.labels[bal.splits[k]], minlength=bal.num_classes) for k in ("real", "synthetic"))
    N = 2 * int(np.maximum(R, S).max())
    assert rr.class_counts()[R > 0].tolist() == [N] * int((R > 0).sum())
    real_rr = np.bincount(rr.labels[rr.splits["real"]], minlength=rr.num_classes)
    assert (real_rr[R > 0] >= N // 2).all() and (real_rr[R > 0] >= R[R > 0]).all()
    assert sorted(rr.names[i] for i in rr.splits["synthetic"]) == sorted(bal.names[i] for i in syn) and len(set(rr.names)) == len(rr)
    assert {n.split("#rep")[0] for n in (rr.names[i] for i in rr.splits["real"])} == {bal.names[i] for i in bal.splits["real"]}


def test_balance_warns_when_a_class_stays_short(msr_train):
    """a class whose only clip is invalid even after repair (an MSR 'bend' clip, too fast for the bounds), so that most draws
    from it fail: balance says which class stays short and by how many, and repeat_real evens the classes up from the real clips"""
    from autopose.synth import real_source
    from autopose.validity import repair, validity_report
    ds = msr_train
    bend = ds.class_names.index("bend")

    def still_invalid(i):
        src = real_source(ds.sequences[i], ds.names[i], ds.subjects[i]); rep = validity_report(src.motion, src.floor)
        return not rep["valid"] and not validity_report(repair(src.motion, rep, src.floor)[0], src.floor)["valid"]
    one = next(i for i in np.flatnonzero(ds.labels == bend) if still_invalid(i))
    other = np.flatnonzero(ds.labels == 0)[:3]
    small = ds.subset(np.r_[one, other])
    with pytest.warns(UserWarning, match=r"balance: fewer synthetic clips than planned for classes \{'bend': (\d+)\}") as w:
        bal = balance(small, "majority", seed=0, max_tries=1)
    missing = int(next(m for x in w if (m := re.search(r"balance: .*\{'bend': (\d+)\}", str(x.message)))).group(1))
    log = bal.meta["synthesis"]["counts"]["bend"]
    assert log["requested"] == 2 and log["failed"] == missing >= 1 and log["made"] == 2 - missing
    assert bal.class_counts()[[0, bend]].tolist() == [3, 1 + log["made"]]
    assert repeat_real(bal, rng=0).class_counts()[[0, bend]].tolist() == [6, 6]


def test_merge_synthetic_refuses_mismatch(msr_train):
    ds = msr_train
    syn = balance(ds, balance_plan(ds, classes=[ds.class_names[int(np.argmin(ds.class_counts()))]]), seed=0)
    only = syn.subset(syn.splits["synthetic"])
    with pytest.raises(ValueError, match="names also used by real clips"):
        merge_synthetic(ds, ds.subset(np.arange(3)))
    from autopose.core import PoseDataset
    other = PoseDataset(only.sequences, only.labels, tuple(f"c{i}" for i in range(len(ds.class_names))), names=only.names)
    with pytest.raises(ValueError, match="synthetic.class_names"):
        merge_synthetic(ds, other)


def test_plan_policies(msr_train):
    ds = msr_train
    top = int(ds.class_counts().max())
    assert balance_plan(ds).total.tolist() == [top] * len(ds.class_names)
    assert all(t >= n for t, n in zip(balance_plan(ds, 0.5).total, ds.class_counts()))
    with pytest.raises(ValueError, match="policy"):
        balance_plan(ds, 0)
    with pytest.raises(ValueError, match="policy"):
        balance_plan(ds, True)
