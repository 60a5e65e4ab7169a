"""autopose.refine beyond the lesson: real data, the committed weights, bad input, the command line."""
import json, subprocess, sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from autopose import learned as L, refine as R
from autopose.core import PoseDataset, PoseSequence

REPO = Path(__file__).resolve().parents[1]


# ---- the committed weights ----------------------------------------------------------------------------------------

def test_committed_weights_small_and_safe():
    pt = REPO / "data" / "refiner.pt"
    assert L.default_refiner_path().resolve() == pt.resolve()
    assert pt.stat().st_size + pt.with_suffix(".json").stat().st_size < 2 * 1024 * 1024
    sd = torch.load(pt, map_location="cpu", weights_only=True)          # plain tensors only
    assert set(sd) == {"offline", "causal"}
    cfg = json.loads(pt.with_suffix(".json").read_text())
    assert cfg["format"] == "autopose.refiner/1"
    assert cfg["training_data"]["bvh"]["files"] == ["131_01.bvh", "131_02.bvh"]  # 131_03 is the benchmark's
    for causal in (False, True):
        m = L.load_refiner(causal=causal)
        assert m.causal == causal and not m.training


def test_weights_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        L.load_refiner(tmp_path / "none.pt")
    p = L.save_refiner({"offline": L.SmoothNet(8, 16, 1)}, tmp_path / "r.pt", {"note": "test"})
    assert L.load_refiner(p).window == 8
    with pytest.raises(ValueError, match="expected a 'causal' model, got \\['offline'\\]"):
        L.load_refiner(p, causal=True)
    cfg = json.loads(p.with_suffix(".json").read_text()); cfg["format"] = "other/1"
    p.with_suffix(".json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="field 'format': expected 'autopose.refiner/1', got 'other/1'"):
        L.load_refiner(p)
    q = tmp_path / "code.pt"                                            # a pickle that is not plain weights
    torch.save({"offline": {"x": np.arange(3)}}, q); q.with_suffix(".json").write_text(p.with_suffix(".json").read_text().replace("other/1", "autopose.refiner/1"))
    with pytest.raises(Exception, match="Weights only load failed|weights_only"):
        L.load_refiner(q)
    (tmp_path / "lonely.pt").write_bytes(p.read_bytes())
    with pytest.raises(FileNotFoundError, match="lonely.json: no such file"):
        L.load_refiner(tmp_path / "lonely.pt")


def test_training_noise_and_jitterier_targets():
    "RandomProfile keeps its jitter in range; target_jitter jitters half the clean clips, up to its size for an adult body; 2 steps train."
    g = np.random.default_rng(0)
    js = [L.RandomProfile(min_jitter=0.0005, max_jitter=0.001)(g).jitter for _ in range(200)]
    assert 0.0005 <= min(js) < 0.0006 and 0.0009 < max(js) <= 0.001
    assert L.random_profile == L.RandomProfile() and L.RandomProfile(0.002, 0.04)(1) == L.random_profile(1)
    clip = np.cumsum(np.random.default_rng(1).normal(size=(40, 20, 3)), 0) * 0.01
    k = float(np.median(L.body_spread(clip))) / L.REFERENCE_SPREAD
    state = g.bit_generator.state
    assert L._jittered(clip, g, 0.0, k) is clip and g.bit_generator.state == state   # off: the mocap weights' draws are unchanged
    out = [L._jittered(clip, g, 0.01, k) for _ in range(400)]
    sd = np.array([(o - clip).std() for o in out])
    assert 0.4 < (sd == 0).mean() < 0.6 and sd.max() <= 0.01 * k * 1.05 and sd[sd > 0].mean() > 0.003 * k
    m = L.train_refiner([clip], 15, steps=2, batch=8, device="cpu", log=None, target_jitter=0.01, noise=L.RandomProfile(min_jitter=0.0005))
    assert np.isfinite(L.smooth_learned(clip, 15, m, device="cpu")).all()
    kw = L.training_settings(dict(noise=L.RandomProfile(min_jitter=0.0005), accel_weight=6.0))
    assert json.loads(json.dumps(kw)) == {"noise": {"RandomProfile": {"min_jitter": 0.0005, "max_jitter": 0.04, "max_corr": 0.8}}, "accel_weight": 6.0}
    cs = [L.RandomProfile(max_corr=0.95)(g).corr for _ in range(400)]
    assert 0 <= min(cs) < 0.05 and 0.9 < max(cs) < 0.95
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match=f"RandomProfile: expected 0 <= max_corr < 1, got {bad}"):
            L.RandomProfile(max_corr=bad)


def test_training_tells_the_noise():
    "The tape carries each clip's drawn noise as its code; windows not told (unknown_noise) see zeros and so give those inputs no gradient."
    rng = np.random.default_rng(2)
    clips = [np.cumsum(rng.normal(size=(40 + 5 * i, 6, 3)), 0) * 0.01 for i in range(3)]
    drawn = []
    def noise(g):
        drawn.append(L.RandomProfile(max_corr=0.95)(g)); return drawn[-1]
    tape = L._tape(clips, [15, 30, 60], np.random.default_rng(0), noise, 32)
    codes, lengths = tape[5].numpy(), [c.size for c in clips]
    assert codes.shape == (sum(lengths), 3)
    for i, p in enumerate(drawn):
        seg = codes[sum(lengths[:i]):sum(lengths[:i + 1])]
        np.testing.assert_allclose(seg, np.broadcast_to(L.noise_code(p), seg.shape), rtol=1e-6)
    tape = tuple(tape[:3]) + tuple(tape[4:])
    first = torch.arange(16)
    grads = []
    for unknown in (1.0, 0.0):
        torch.manual_seed(0)
        m = L.SmoothNet(32, 16, 1, noise_cond=True)
        L._batch_loss(m, tape, first, 1, 3.0, unknown).backward()
        grads.append(m.inp.weight.grad[:, -3:].abs().sum().item())
    assert grads[0] == 0 and grads[1] > 0
    with pytest.raises(ValueError, match="unknown_noise: expected a fraction in"):
        L.train_refiner(clips, 15, steps=1, noise_cond=True, unknown_noise=1.5, device="cpu", log=None)


def test_committed_weights_are_trained_as_declared():
    "The package's two weight sets were trained with PACKAGE_MODELS / SENSOR_MODELS (their .json), and the told ones take the noise."
    for name, how in (("mocap", L.PACKAGE_MODELS), ("kinect_v1", L.SENSOR_MODELS)):
        cfg = json.loads(L.default_refiner_path(name).with_suffix(".json").read_text())
        assert {k: {n: v for n, v in t.items() if n not in ("steps", "seed")} for k, t in cfg["training"].items()} == \
               {k: L.training_settings(kw) for k, kw in how.items()}, name
        for k, kw in how.items():
            assert L.load_refiner(name, causal=k == "causal").noise_cond == bool(kw.get("noise_cond")), (name, k)


def test_kinect_v1_weights_trained_on_training_subjects_only():
    pt = REPO / "data" / "refiner_kinect_v1.pt"
    assert L.default_refiner_path("kinect_v1").resolve() == pt.resolve()
    assert pt.stat().st_size + pt.with_suffix(".json").stat().st_size < 2 * 1024 * 1024
    assert set(torch.load(pt, map_location="cpu", weights_only=True)) == {"offline", "causal"}
    rec = json.loads(pt.with_suffix(".json").read_text())["training_data"]["recordings"]
    assert rec["dataset"] == "msr_action3d" and rec["subjects"] == [1, 3, 5, 7, 9]   # the benchmark tests on 2, 4, 6, 8, 10
    assert rec["fps"] == [15.0] and rec["joint_sets"] == ["kinect_v1_msr"] and rec["clips"] > 150
    cfg = json.loads(pt.with_suffix(".json").read_text())   # its training settings: test_committed_weights_are_trained_as_declared
    assert cfg["models"]["offline"]["cutoff_hz"] is None and cfg["training"]["offline"]["steps"] == 10000
    for causal in (False, True):
        m = L.load_refiner("kinect_v1", causal=causal)
        assert m.causal == causal and m.meta["command"].startswith("python -m autopose.refine train --msr")
    assert L.load_refiner("mocap") is L.load_refiner() and L.load_refiner("kinect_v1") is not L.load_refiner()
    with pytest.raises(ValueError, match="weights: expected one of \\['kinect_v1', 'mocap'\\] or a path to a .pt, got 'kinect'"):
        L.load_refiner("kinect")
    x = np.cumsum(np.random.default_rng(0).normal(size=(40, 20, 3)), 0) * 0.01
    y = L.smooth_learned(x, 15, weights="kinect_v1", device="cpu")
    np.testing.assert_allclose(y, L.smooth_learned(x, 15, L.load_refiner("kinect_v1"), device="cpu"))
    assert not np.allclose(y, L.smooth_learned(x, 15, device="cpu"))                  # not the mocap weights
    with pytest.raises(ValueError, match="weights: give a model or weights, not both"):
        L.smooth_learned(x, 15, L.load_refiner(), weights="mocap")
    seq = PoseSequence(xyz=x.astype(np.float32), joint_set="kinect_v1_msr", fps=15.0)
    out = R.refine(seq, weights="kinect_v1", device="cpu")
    np.testing.assert_allclose(out.xyz, y, atol=1e-6)
    assert out.meta["refine"]["weights"] == "kinect_v1"


def test_recording_clips(shared_data):
    from autopose.datasets import load_msr_action3d
    ds = load_msr_action3d(shared_data / "msr_action3d").split("xsub_train")
    clips, fps, desc = L.recording_clips(ds, seed=0)
    complete = [s for s in ds.sequences if s.T >= 34 and np.isfinite(s.xyz).all()]
    assert len(clips) == len(complete) == desc["clips"] and desc["left_out"] == len(ds) - len(complete) > 0
    assert set(fps) == {15.0} and 0 < desc["clips_2d"] < len(clips)
    assert desc["dataset"] == "msr_action3d" and desc["subjects"] == [1, 3, 5, 7, 9]
    for c, s in zip(clips, complete):
        if c.shape[-1] == 3: np.testing.assert_array_equal(c, s.xyz.astype(np.float64))   # the recording itself, not smoothed
        else: assert c.shape == (s.T, 20, 2) and np.isfinite(c).all()
    with pytest.raises(ValueError, match="ds: expected recordings of at least 34 frames with every joint seen in every frame; none of the 2 is"):
        L.recording_clips([s for s in ds.sequences if s.T < 34][:2])


# ---- bad input --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("f", [lambda x: R.moving_average(x), lambda x: R.gaussian(x), lambda x: R.savgol(x),
                               lambda x: R.one_euro(x, 30), lambda x: L.smooth_learned(x, 30, device="cpu"),
                               lambda x: R.fill_gaps(x)])
def test_wrong_shapes(f):
    for bad, msg in ((np.zeros((30, 3)), "expected an array of shape \\(T, J, C\\)"), (np.zeros((30, 0, 3)), "got shape \\(30, 0, 3\\)"),
                     ([["a"]], "non-numeric"), (np.full((30, 2, 3), np.inf), "infinite values")):
        with pytest.raises(ValueError, match=msg):
            f(bad)


@pytest.mark.parametrize("f", [lambda x: R.moving_average(x), lambda x: R.gaussian(x), lambda x: R.savgol(x),
                               lambda x: R.one_euro(x, 30), lambda x: L.smooth_learned(x, 30, device="cpu")])
def test_filters_refuse_nan(f):
    x = np.zeros((30, 4, 3)); x[5, 2] = np.nan
    with pytest.raises(ValueError, match="expected no NaN \\(fill gaps first with fill_gaps, or use refine\\), got 1 missing joint-frames"):
        f(x)


def test_too_short_and_bad_parameters():
    x = np.zeros((5, 4, 3))
    with pytest.raises(ValueError, match="x: expected at least 9 frames, got 5"): R.savgol(x, 9)
    with pytest.raises(ValueError, match="pred: expected at least 3 frames, got 2"): R.accel_error(x[:2], x[:2])
    with pytest.raises(ValueError, match="window: expected an integer >= 1, got 0"): R.moving_average(x, 0)
    with pytest.raises(ValueError, match="stride: expected an integer >= 1, got 0"): L.smooth_learned(x, 30, stride=0, device="cpu")
    with pytest.raises(ValueError, match="scale: expected a finite number > 0, got -1"): L.smooth_learned(x, 30, scale=-1, device="cpu")
    with pytest.raises(ValueError, match="min_cutoff: expected a finite number > 0"): R.one_euro(x, 30, min_cutoff=0)
    with pytest.raises(ValueError, match="clips: expected at least one clean clip"): L.train_refiner([], 30, steps=1)
    with pytest.raises(ValueError, match="clips\\[0\\]: expected at least 32 frames, got 5"): L.train_refiner([x], 30, steps=1)
    with pytest.raises(ValueError, match="fps\\[0\\]: expected a finite number > 0, got 0.0"): L.train_refiner([np.zeros((40, 4, 3))], 0, steps=1)
    with pytest.raises(ValueError, match="target_jitter: expected a size >= 0 in metres, got -0.01"): L.train_refiner([np.zeros((40, 4, 3))], 30, steps=1, target_jitter=-0.01)
    with pytest.raises(ValueError, match="RandomProfile: expected 0 < min_jitter <= max_jitter \\(metres\\), got 0.05 and 0.04"): L.RandomProfile(min_jitter=0.05)
    # the learned refiner and the centred filters accept one frame; the output keeps the shape
    for m in ("learned", "gaussian", "moving_average", "one_euro"):
        s = R.refine(PoseSequence("coco17", 30, xyz=np.random.default_rng(0).normal(size=(1, 17, 3))), m, device="cpu")
        assert s.xyz.shape == (1, 17, 3) and not np.isnan(s.xyz).any()


def test_refine_missing_everything_and_bad_sequences():
    x = np.full((40, 17, 3), np.nan)
    s = R.refine(PoseSequence("coco17", 30, xyz=x), "learned", device="cpu")
    assert np.isnan(s.xyz).all() and (s.conf == 0).all()
    x = np.random.default_rng(0).normal(size=(40, 17, 3)); x[:, 3] = np.nan                  # one joint never seen
    s = R.refine(PoseSequence("coco17", 30, xyz=x), "savgol")
    assert np.isnan(s.xyz[:, 3]).all() and not np.isnan(np.delete(s.xyz, 3, 1)).any()
    with pytest.raises(ValueError, match="max_gap: expected an integer >= 0, got -2"):
        R.refine(PoseSequence("coco17", 30, xyz=x), "savgol", max_gap=-2)
    with pytest.raises(ValueError, match="seq: expected a PoseSequence, got dict"):
        R.refine({"xyz": x})
    with pytest.raises(ValueError, match="params: method 'learned' takes model, stride, scale, batch, weights, noise; got 'window'"):
        R.refine(PoseSequence("coco17", 30, xyz=x), "learned", window=9)


def test_metric_hand_cases():
    gt = np.random.default_rng(0).normal(size=(30, 17, 3))
    assert R.mpjpe(gt + [0.0, 0.01, 0.0], gt) == pytest.approx(0.01)
    assert R.pa_mpjpe(gt + [0.0, 0.01, 0.0], gt) == pytest.approx(0.0, abs=1e-12)
    lin = np.arange(30.0)[:, None, None] * np.ones((30, 17, 3)) * 0.01
    assert R.accel_error(gt + lin, gt) == pytest.approx(0.0, abs=1e-12)                  # a linear drift has no acceleration
    with pytest.raises(ValueError, match="pred, gt: expected the same shape"):
        R.pa_mpjpe(gt, gt[:, :5])


# ---- real data --------------------------------------------------------------------------------------------------------

def test_measured_noise(shared_data):
    "The numbers of the notebook's table of measured Kinect noise."
    from autopose.datasets import read_msr_action3d
    from autopose.ntu import read_ntu_skeleton
    ntu = read_ntu_skeleton(shared_data / "ntu_video" / "S001C001P001R001A001.skeleton").to_sequence()
    s3, s2 = R.noise_stats(ntu.xyz), R.noise_stats(ntu.xy)
    assert round(s3["jitter"] * 1000, 1) == 1.3 and round(s3["jitter_p90"] * 1000, 1) == 9.2
    assert round(s3["joint_spread"], 2) == 1.13 and round(s3["outlier_rate"] * 100, 1) == 5.7
    assert round(s2["jitter"], 2) == 0.32 and round(s2["jitter_p90"], 1) == 2.1
    files = sorted((shared_data / "msr_action3d" / "real_world_coordinates").glob("*_skeleton3D.txt"))[:200]
    msr = [R.noise_stats(R.fill_gaps(s.xyz, len(s.xyz))) for s in map(read_msr_action3d, files) if s.T >= 10 and not np.isnan(s.xyz).all(0).any()]
    assert round(np.median([m["jitter"] for m in msr]) * 1000, 1) == 3.7
    assert round(np.nanmedian([m["joint_spread"] for m in msr]), 2) == 0.56
    from autopose.datasets import read_utkinect_joints
    utk = [read_utkinect_joints(f).xyz for f in sorted((shared_data / "utkinect" / "joints").glob("joints_s*.txt"))]
    assert len(utk) == 20 and round(np.median([R.noise_stats(R.fill_gaps(x, len(x)))["jitter"] for x in utk]) * 1000, 1) == 1.7


def test_refine_real_ntu_both_kinds(shared_data):
    from autopose.ntu import read_ntu_skeleton
    seq = read_ntu_skeleton(shared_data / "ntu_video" / "S001C001P001R001A001.skeleton").to_sequence()
    for causal in (False, True):
        out = R.refine(seq, "learned", causal=causal, device="cpu")
        assert out.xyz.shape == seq.xyz.shape and out.xy.shape == seq.xy.shape and out.image_size == seq.image_size
        seen = ~seq.missing_mask()
        np.testing.assert_array_equal(out.conf[seen], seq.conf[seen])
        assert R.mpjpe(out.xyz, seq.xyz) < 0.02 and R.mpjpe(out.xy, seq.xy) < 5      # refined, not moved away
    # causal: the output at frame t does not depend on later frames
    x = R.fill_gaps(seq.xyz, 103)
    assert R.future_leak(lambda a: L.smooth_learned(a, 30, causal=True, device="cpu"), x, 60) == 0.0


def test_learned_beats_filters_on_held_out_hop(shared_data):
    """CMU 131_03 (not trained on), 30 fps, the 'video' preset: the offline refiner beats every filter setting
    of a grid, each tuned on this very test clip (an oracle, stronger than the benchmark's tuning) by MPJPE and
    by acceleration error."""
    from autopose.bvh import read_bvh
    gt = read_bvh(shared_data / "cmu_bvh" / "131_03.bvh").to_sequence().xyz[::4].astype(np.float64)
    x = R.fill_gaps(R.add_noise(gt, R.NOISE_PRESETS["video"], rng=0), len(gt))
    runs = [R.gaussian(x, s) for s in (0.5, 1, 1.5, 2, 3, 4)] + [R.savgol(x, w, 2) for w in (5, 7, 9, 11, 15, 21)] + \
           [R.moving_average(x, w) for w in (3, 5, 7, 9)] + [R.one_euro(x, 30, c, b, causal=False) for c in (0.5, 1, 2, 4) for b in (0, 1, 10)]
    y = L.smooth_learned(x, 30, device="cpu")
    assert R.mpjpe(y, gt) < min(R.mpjpe(r, gt) for r in runs)
    assert R.accel_error(y, gt) < min(R.accel_error(r, gt) for r in runs)


def test_refine_file_dataset_round_trip(tmp_path, shared_data):
    from autopose.datasets import load_msr_action3d
    ds = load_msr_action3d(shared_data / "msr_action3d").subset([0, 1, 2])
    p = ds.save(tmp_path / "msr3.npz")
    out = R.refine_file(p, "gaussian", sigma=1.0)
    assert isinstance(out, PoseDataset) and out.names == ds.names and out.lengths.tolist() == ds.lengths.tolist()
    assert out.meta["refine"] == {"method": "gaussian", "causal": False, "max_gap": 10, "sigma": 1.0}
    one = R.refine_file(ds[0].save(tmp_path / "one.npz"), "learned")
    assert isinstance(one, PoseSequence) and one.T == ds[0].T
    with pytest.raises(FileNotFoundError, match="nope.npz: no such file"):
        R.refine_file(tmp_path / "nope.npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npz: expected a PoseSequence or PoseDataset .npz, got an unreadable file"):
        R.refine_file(tmp_path / "empty.npz")


# ---- the command line -------------------------------------------------------------------------------------------------

def test_apply_command_on_real_folder(tmp_path, shared_data):
    "python -m autopose.refine apply: a folder of real pose files (NTU .skeleton, MSR Action3D) refined with the told causal refiner; a truncated file fails, the rest land, a rerun redoes nothing."
    from autopose.datasets import load_msr_action3d
    from autopose.ntu import read_ntu_skeleton
    src = tmp_path / "poses"
    ntu = read_ntu_skeleton(shared_data / "ntu_video" / "S001C001P001R001A001.skeleton").to_sequence()
    ntu.save(src / "ntu" / "S001C001P001R001A001.npz")
    load_msr_action3d(shared_data / "msr_action3d").subset([0, 1]).save(src / "msr2.npz")
    (src / "cut.npz").write_bytes(ntu.save(tmp_path / "whole.npz").read_bytes()[:3000])   # a truncated download
    cmd = [sys.executable, "-m", "autopose.refine", "apply", str(src), str(tmp_path / "out"), "--causal", "--noise", "mediapipe", "--device", "cpu"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 1 and "2 refined, 0 already there, 1 failed" in r.stdout and "cut.npz: " in r.stdout, r.stdout + r.stderr
    rep = json.loads((tmp_path / "out" / "refine_report.json").read_text())
    assert rep["done"] == ["msr2.npz", "ntu/S001C001P001R001A001.npz"] and [f["file"] for f in rep["failed"]] == ["cut.npz"]
    assert rep["settings"] == {"method": "learned", "causal": True, "max_gap": 10, "noise": "mediapipe"}   # not the device it ran on
    out = PoseSequence.load(tmp_path / "out" / "ntu" / "S001C001P001R001A001.npz")
    direct = R.refine(ntu, causal=True, noise="mediapipe", device="cpu")
    np.testing.assert_array_equal(out.xyz, direct.xyz); np.testing.assert_array_equal(out.xy, direct.xy)
    assert PoseDataset.load(tmp_path / "out" / "msr2.npz").meta["refine"]["causal"] is True
    told = R.refine_file(src / "msr2.npz", causal=True, noise=R.NOISE_PRESETS["video"], device="cpu")   # a NoiseProfile, recorded as JSON
    assert PoseDataset.load(told.save(tmp_path / "told.npz")).meta["refine"]["noise"] == json.loads(json.dumps({"NoiseProfile": vars(R.NOISE_PRESETS["video"])}))
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert "0 refined, 2 already there, 1 failed" in r.stdout
    one = tmp_path / "one.npz"   # one file, a filter with its settings
    r = subprocess.run([sys.executable, "-m", "autopose.refine", "apply", str(src / "msr2.npz"), str(one), "--method", "savgol",
                        "--set", "window=9", "--set", "polyorder=2"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert PoseDataset.load(one).meta["refine"] == {"method": "savgol", "causal": False, "max_gap": 10, "window": 9, "polyorder": 2}
    r = subprocess.run([sys.executable, "-m", "autopose.refine", "apply", str(src), str(tmp_path / "o2"), "--set", "window"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and "--set window: expected NAME=VALUE" in r.stderr
    r = subprocess.run([sys.executable, "-m", "autopose.refine", "apply", str(src / "cut.npz"), str(tmp_path / "c.npz")],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 1 and f"{src / 'cut.npz'}: expected a PoseSequence or PoseDataset .npz, got an unreadable file (BadZipFile" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "c.npz").exists()


def test_refine_stage_notebook_on_a_folder(tmp_path, shared_data):
    "The 05_refine notebook run by papermill, as a pipeline stage does, on a folder of real pose files: every file refined, the report written."
    import papermill as pm
    from autopose.ntu import read_ntu_skeleton
    ntu = read_ntu_skeleton(shared_data / "ntu_video" / "S001C001P001R001A001.skeleton").to_sequence()
    ntu.save(tmp_path / "in" / "a.npz"); ntu.save(tmp_path / "in" / "b" / "c.npz")
    nb = Path(__file__).parents[1] / "nbs" / "05_refine.ipynb"
    pm.execute_notebook(str(nb), str(tmp_path / "run.ipynb"), parameters={"data": str(tmp_path / "in"), "out": str(tmp_path / "out"), "method": "gaussian"},
                        kernel_name="python3", cwd=str(nb.parent), progress_bar=False)
    rep = json.loads((tmp_path / "out" / "refine_report.json").read_text())
    assert rep["done"] == ["a.npz", "b/c.npz"] and rep["failed"] == [] and rep["settings"]["method"] == "gaussian"
    np.testing.assert_allclose(PoseSequence.load(tmp_path / "out" / "b" / "c.npz").xyz, R.refine(ntu, "gaussian").xyz)


def test_train_command(tmp_path):
    out = tmp_path / "w" / "refiner.pt"
    r = subprocess.run([sys.executable, "-m", "autopose.refine", "train", "--out", str(out), "--steps", "20", "--procedural", "12"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and out.with_suffix(".json").is_file()
    m = L.load_refiner(out, causal=True)
    assert m.meta["steps"] == 20 and m.meta["training_data"]["bvh"]["files"] == []
    r = subprocess.run([sys.executable, "-m", "autopose.refine", "train", "--out", str(out), "--cmu", str(tmp_path)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode != 0 and "131_01.bvh: no such file" in r.stderr


def test_train_command_kinect_v1(tmp_path, shared_data):
    out = tmp_path / "refiner_kinect_v1.pt"
    r = subprocess.run([sys.executable, "-m", "autopose.refine", "train", "--msr", str(shared_data / "msr_action3d"), "--out", str(out),
                        "--steps", "20"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    m = L.load_refiner(out)
    assert m.meta["training_data"]["recordings"]["subjects"] == [1, 3, 5, 7, 9] and "bvh" not in m.meta["training_data"]
    assert m.meta["command"] == f"python -m autopose.refine train --msr <msr_action3d folder> --out {out}"
    r = subprocess.run([sys.executable, "-m", "autopose.refine", "train", "--msr", str(tmp_path), "--out", str(out)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode != 0 and str(tmp_path) in r.stderr
    for bad, says in ((["--msr", "m", "--recordings", "r.npz"], "not allowed with argument"), (["--split", "train"], "--split goes with --recordings"),
                      (["--msr", "m", "--cmu", "c"], "--cmu trains the mocap weights")):
        r = subprocess.run([sys.executable, "-m", "autopose.refine", "train", *bad], capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert r.returncode == 2 and says in r.stderr, (bad, r.stderr)


def test_measured_mediapipe_vs_kinect(shared_data):
    "The notebook's MediaPipe-against-Kinect table (needs mediapipe, which the dev environment may lack: then skipped)."
    pytest.importorskip("mediapipe")
    from autopose.extract import extract_video
    from autopose.ntu import read_ntu_skeleton
    mp = extract_video(shared_data / "ntu_video" / "S001C001P001R001A001_rgb.avi", joint_set="mediapipe33", mirrored=True)
    kn = read_ntu_skeleton(shared_data / "ntu_video" / "S001C001P001R001A001.skeleton").to_sequence()
    common = [n for n in kn.joint_set.joints if n in mp.joint_set.joints]
    assert len(common) == 12
    d = mp.xy[:, mp.joint_set.indices(common)].astype(np.float64) - kn.xy[:, kn.joint_set.indices(common)]
    assert round(float(np.nanmean(np.linalg.norm(d, axis=-1))), 1) == 16.4
    assert round(float(np.sqrt(np.nanmean((d - np.nanmean(d, 0)) ** 2))), 1) == 7.1
    a3, b3 = mp.xyz[:, mp.joint_set.indices(common)], kn.xyz[:, kn.joint_set.indices(common)]
    assert round(R.pa_mpjpe(a3, b3) * 1000, 1) == 65.9


# ---- bench/refine.py's verdict and its Pareto reading -----------------------------------------------------------------

def test_bench_declares_weights_by_sensor_and_pareto_reads_them(tmp_path, capsys, bench):
    b, p = bench("refine"), bench("refine_pareto")
    assert b.declared_weights("MSR Action3D test 3D 15 fps (40 seqs)") == "kinect_v1"
    assert b.declared_weights("NTU Kinect v2 3D 30 fps") == "mocap" and b.declared_weights("CMU 131_03 3D 60 fps") == "mocap"
    md = tmp_path / "r.md"
    md.write_text("### offline, noise preset 'video'\n\n"
                  "| method | tuned for | CMU 131_03 3D 60 fps: MPJPE / PA-MPJPE / accel | MSR Action3D test 3D 15 fps (40 seqs): MPJPE / PA-MPJPE / accel |\n"
                  "|---|---|---:|---:|\n"
                  "| gaussian | MPJPE (mocap val) | 15.0 / 14.0 / 1.50 (sigma=3) | 23.0 / 22.0 / 30.00 (sigma=0.5) |\n"
                  "| gaussian | MPJPE (Kinect v1 val) | – | 22.0 / 21.0 / 29.00 (sigma=1) |\n"
                  "| learned, mocap weights |  | 13.0 / 12.0 / 1.30 | 25.0 / 23.0 / 33.00 |\n"
                  "| learned, Kinect v1 weights |  | 20.0 / 19.0 / 9.00 | 21.5 / 21.0 / 28.50 |\n")
    t = p.tables(md)[("offline", "video")]
    assert "gaussian (MPJPE (Kinect v1 val))" not in t["CMU 131_03 3D 60 fps"]             # "–": not this group's row
    assert t["MSR Action3D test 3D 15 fps (40 seqs)"]["gaussian (MPJPE (Kinect v1 val))"] == (22.0, 29.0)
    assert t["MSR Action3D test 3D 15 fps (40 seqs)"][b.LEARNED["kinect_v1"]] == (21.5, 28.5)
    p.main(md)
    out = capsys.readouterr().out
    assert "offline video | MSR Action3D test 3D 15 fps (40 seqs): learned 21.5/28.5; dominated by: none" in out
    assert "offline video | CMU 131_03 3D 60 fps: learned 13.0/1.3; dominated by: none" in out
    md.write_text(md.read_text() + "| learned, Kinect v1 weights, told the noise |  | 20.0 / 19.0 / 9.00 | 22.5 / 21.0 / 29.50 |\n")
    assert b.verdict_row(p.tables(md)[("offline", "video")]["MSR Action3D test 3D 15 fps (40 seqs)"], "kinect_v1") == "learned, Kinect v1 weights, told the noise"
    p.main(md)   # weights told the noise: the verdict's row, told
    assert "offline video | MSR Action3D test 3D 15 fps (40 seqs): learned 22.5/29.5; dominated by: gaussian (MPJPE (Kinect v1 val)) 22.0/29.0" in capsys.readouterr().out


def test_train_command_on_your_own_recordings(tmp_path, shared_data):
    "Any PoseDataset .npz (here 12 MSR Action3D clips of subjects 1 and 3, as a user's own sensor) trains a pair; refine_file uses it."
    from autopose.datasets import load_msr_action3d
    ds = load_msr_action3d(shared_data / "msr_action3d")
    ds = ds.subset(np.flatnonzero(np.isin(ds.subjects, [1, 3]))[:12])
    ds = PoseDataset(**{**{f: getattr(ds, f) for f in ("sequences", "labels", "class_names", "subjects", "names", "meta")},
                        "splits": {"train": np.arange(8), "test": np.arange(8, 12)}})
    data, out = ds.save(tmp_path / "mine.npz"), tmp_path / "mine.pt"
    cmd = [sys.executable, "-m", "autopose.refine", "train", "--recordings", str(data), "--steps", "5"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode != 0 and "--recordings needs --out" in r.stderr
    noise = ["--min-jitter", "0.0005", "--target-jitter", "0.01"]   # a calm sensor's settings (bench/results/refiner_kinect_tuning.md)
    r = subprocess.run(cmd + ["--split", "train", *noise, "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    meta = L.load_refiner(out).meta
    rec = meta["training_data"]["recordings"]
    assert rec["clips"] + rec["left_out"] == 8 and rec["dataset"] == "msr_action3d"
    assert meta["command"].endswith(f"--split train --min-jitter 0.0005 --target-jitter 0.01 --out {out}")
    for m in ("offline", "causal"):   # the sensor settings, with the two noise settings over them
        drawn = replace(L.SENSOR_MODELS[m].get("noise", L.RandomProfile()), min_jitter=0.0005)   # the sensor's noise, from 0.5 mm
        assert meta["training"][m] == L.training_settings(dict(L.SENSOR_MODELS[m], noise=drawn, target_jitter=0.01, steps=5, seed=0))
    refined = R.refine_file(data, weights=str(out), device="cpu")
    assert refined.meta["refine"]["weights"] == str(out) and len(refined) == 12
    r = subprocess.run(cmd[:-2] + ["--steps", "5", "--split", "val", "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode != 0 and "no split 'val'" in r.stderr


def test_train_command_noise_settings_need_recordings(capsys):
    for args in (["--msr", "x", "--min-jitter", "0.001"], ["--target-jitter", "0.01"]):
        with pytest.raises(SystemExit):
            R.main(["train", *args])
        assert "--min-jitter and --target-jitter go with --recordings" in capsys.readouterr().err
    with pytest.raises(ValueError, match="settings: expected models among \\['causal', 'offline'\\], got \\['online'\\]"):
        L.train_package_refiner("x.pt", settings={"online": {}}, log=None)


def test_sensor_models_are_the_tuned_choice(bench):
    "SENSOR_MODELS and PACKAGE_MODELS hold the candidates bench/tune_refiner_kinect.py and bench/tune_refiner_mocap.py chose (their last rounds' results files), and every candidate trains."
    t, mo = bench("tune_refiner_kinect"), bench("tune_refiner_mocap")
    chosen = lambda table: table.read_text().split("Chosen: ")[1].strip()
    clip = np.cumsum(np.random.default_rng(0).normal(size=(40, 20, 3)), 0) * 0.01
    for kind, cands in (("offline", t.CANDIDATES), ("causal", t.CAUSAL_CANDIDATES)):
        assert dict(t.base(kind), **cands[chosen(t.DECIDED_BY[kind])]) == L.SENSOR_MODELS[kind]
    assert L.PACKAGE_MODELS["offline"] == mo.CANDIDATES[chosen(mo.OUT)]   # the mocap models: what bench/tune_refiner_mocap.py chose
    assert L.PACKAGE_MODELS["causal"] == dict(mo.UNTOLD_CAUSAL, **mo.CAUSAL_CANDIDATES[chosen(mo.OUT_CAUSAL)])
    every = [dict(t.base(k), **kw) for k, cs in (("offline", t.CANDIDATES), ("causal", t.CAUSAL_CANDIDATES)) for kw in cs.values()] + \
            list(mo.CANDIDATES.values()) + [dict(mo.UNTOLD_CAUSAL, **kw) for kw in mo.CAUSAL_CANDIDATES.values()]
    for kw in every:
        m = L.train_refiner([clip], 15, steps=1, device="cpu", log=None, **dict(kw, batch=8))
        assert (m.causal, m.cutoff_hz, m.noise_cond) == (kw["causal"], kw["cutoff_hz"], bool(kw.get("noise_cond")))


def test_tuning_command_line(bench, capsys):
    "Both tuning scripts read one command line: --causal picks the causal round's candidates and table, --candidates some of them, an unknown name is refused."
    mo = bench("tune_refiner_mocap")
    rounds = {"offline": (mo.CANDIDATES, mo.OUT), "causal": (mo.CAUSAL_CANDIDATES, mo.OUT_CAUSAL)}
    a, cands, out, causal = mo.tuning_args(mo.__doc__, rounds, [])
    assert (cands, out, causal, a.steps) == (mo.CANDIDATES, mo.OUT, False, 5000)
    a, cands, out, causal = mo.tuning_args(mo.__doc__, rounds, ["--causal", "--candidates", "told the noise", "--out", "x.md"])
    assert (list(cands), str(out), causal) == (["told the noise"], "x.md", True) and cands["told the noise"] == mo.CAUSAL_CANDIDATES["told the noise"]
    with pytest.raises(SystemExit):
        mo.tuning_args(mo.__doc__, rounds, ["--candidates", "accel 3, told the noise"])   # a causal candidate, offline round
    assert f"--candidates: expected names among {sorted(mo.CANDIDATES)}, got ['accel 3, told the noise']" in capsys.readouterr().err


def test_refine_tells_the_noise_and_records_it(tmp_path):
    "refine(seq, noise=...) reaches a noise-conditioned refiner; the profile is recorded in the sequence's metadata as JSON, and the file saves."
    clip = np.cumsum(np.random.default_rng(3).normal(size=(60, 20, 3)), 0) * 0.01
    torch.manual_seed(0)
    models = {k: L.train_refiner([clip], 30, causal=k == "causal", steps=2, batch=8, device="cpu", log=None, noise_cond=True) for k in ("offline", "causal")}
    pt = L.save_refiner(models, tmp_path / "told.pt")
    seq = PoseSequence(xyz=clip.astype(np.float32), joint_set="kinect_v1_msr", fps=30.0)   # 20 joints
    told = R.refine(seq, weights=str(pt), noise=R.NOISE_PRESETS["video"], device="cpu")
    assert told.meta["refine"]["noise"] == {"NoiseProfile": dict(vars(R.NOISE_PRESETS["video"]))}
    by_name = R.refine(seq, weights=str(pt), noise="video", device="cpu")
    assert by_name.meta["refine"]["noise"] == "video"
    np.testing.assert_array_equal(by_name.xyz, told.xyz)
    assert np.abs(R.refine(seq, weights=str(pt), device="cpu").xyz - told.xyz).max() > 0
    assert PoseSequence.load(told.save(tmp_path / "told.npz")).meta["refine"]["noise"]["NoiseProfile"]["corr"] == 0.5
    untold = L.save_refiner({k: L.train_refiner([clip], 30, causal=k == "causal", steps=1, batch=8, device="cpu", log=None)
                             for k in ("offline", "causal")}, tmp_path / "untold.pt")
    for causal in (False, True):
        with pytest.raises(ValueError, match="noise: these refiner weights were not trained to be told the noise"):
            R.refine(seq, noise="video", causal=causal, device="cpu", weights=str(untold))
    assert R.refine(seq, noise="video", causal=True, device="cpu").meta["refine"]["noise"] == "video"   # the package's causal model is told


def test_causal_bound_kalman(bench):
    "bench/refine_causal_bound.py: the Kalman filter is causal, tracks its model's motion exactly once settled, passes the input through at a huge ratio and all but freezes at a tiny one; the tuning table's choice is read back."
    kb = bench("refine_causal_bound")
    g = np.random.default_rng(0)
    x = np.cumsum(g.normal(size=(300, 4, 3)), 0)
    for model in kb.MODELS:
        y = kb.kalman(x, model, 1e-2)
        x2 = x.copy(); x2[150:] += 5.0                      # a change in the future
        np.testing.assert_array_equal(kb.kalman(x2, model, 1e-2)[:150], y[:150])
        assert np.abs(kb.kalman(x, model, 1e2) - x).mean() < 0.05 * np.abs(np.diff(x, axis=0)).mean()
        assert np.abs(np.diff(kb.kalman(x, model, 1e-9), 2, axis=0)).mean() < 0.05 * np.abs(np.diff(x, 2, axis=0)).mean()
    t = np.arange(400.0)[:, None, None]
    ramp, parabola = 0.3 * t + 1.0 + 0 * x[:1], 0.01 * t ** 2 - 0.2 * t + 0 * x[:1]
    assert np.abs(kb.kalman(ramp, "velocity", 1e-3)[-50:] - ramp[-50:]).max() < 1e-9          # its model: no lag once settled
    assert np.abs(kb.kalman(parabola, "acceleration", 1e-3)[-50:] - parabola[-50:]).max() < 1e-9
    assert np.abs(kb.kalman(parabola, "velocity", 1e-3)[-50:] - parabola[-50:]).max() > 0.1    # a velocity model lags a parabola
    name, scores = kb.chosen_scores()
    assert name == bench("tune_refiner_mocap").OUT_CAUSAL.read_text().split("Chosen: ")[1].strip() and len(scores) == 16
    assert scores["CMU 131_02 3D 60 fps", "video"] == (25.0, 4.13)
