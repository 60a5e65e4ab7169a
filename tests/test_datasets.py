"""Real-data readers and writers (autopose.datasets, .ntu, .bvh, .pyskl): every file in ../shared/data, the
counts their READMEs give, round trips for every writer, and a bad-input battery for every format.

Every real file is read once per module-scoped fixture; the tests compare what the readers return with an
independent plain parse (np.loadtxt, line splitting) of the same files.
"""
import pickle
import re

import numpy as np
import pytest
import scipy.io

from autopose.bvh import CMU_UNIT, Bvh, read_bvh, write_bvh
from autopose.core import PoseDataset
from autopose.datasets import (MSR_ACTIONS, UTD_MHAD_ACTIONS, UTKINECT_ACTIONS, FormatError, detect_dataset, load_dataset,
                               load_msr_action3d, load_utkinect, read_humanml3d, read_msr_action3d,
                               read_synthda, read_utd_mhad, read_utkinect_joints, read_utkinect_labels,
                               write_example_msr_action3d)
from autopose.ntu import NTU_ACTIONS, NTU_XSUB_TRAIN, load_ntu, read_ntu_skeleton
from autopose.pyskl import PYSKL_FIELDS_2D, PYSKL_FIELDS_3D, read_pyskl, write_pyskl
from autopose.rotations import axes_matrix
from autopose.skeletons import convert, named_map

FLIP = np.array([-1.0, 1.0, -1.0])   # Kinect camera space (RUB) -> the contract (LUF)
MSR_BAD = ["a02_s03_e02", "a04_s03_e01", "a07_s04_e01", "a13_s09_e01", "a13_s09_e02", "a13_s09_e03",
           "a14_s03_e01", "a20_s07_e01", "a20_s07_e03", "a20_s10_e03"]   # the README's 10 known bad files


# ---------------------------------------------------------------- fixtures: every real file, read once

@pytest.fixture(scope="module")
def msr(shared_data):
    return load_msr_action3d(shared_data / "msr_action3d")


@pytest.fixture(scope="module")
def msr_raw(shared_data):
    "the baseline: np.loadtxt of all 567 files, {sample: (T, 20, 4)}"
    files = sorted((shared_data / "msr_action3d/real_world_coordinates").glob("a*_skeleton3D.txt"))
    return {f.name[:11]: np.loadtxt(f).reshape(-1, 20, 4) for f in files}


@pytest.fixture(scope="module")
def utk(shared_data):
    return load_utkinect(shared_data / "utkinect")


@pytest.fixture(scope="module")
def utk_raw(shared_data):
    return {f.stem[7:]: np.loadtxt(f) for f in sorted((shared_data / "utkinect/joints").glob("joints_*.txt"))}


@pytest.fixture(scope="module")
def ntu_file(shared_data):
    return shared_data / "ntu_video/S001C001P001R001A001.skeleton"


@pytest.fixture(scope="module")
def ntu(ntu_file):
    return read_ntu_skeleton(ntu_file)


@pytest.fixture(scope="module")
def cmu(shared_data):
    return {c: read_bvh(shared_data / f"cmu_bvh/{c}.bvh") for c in ("131_01", "131_02", "131_03")}


def facing(xyz, js):
    """per frame: (left-minus-right shoulder x, forward z, head-above-hips y) in the contract's axes"""
    j = js.index
    left = xyz[:, j("left_shoulder")] - xyz[:, j("right_shoulder")]
    hips = (xyz[:, j("left_hip")] + xyz[:, j("right_hip")]) / 2
    up = xyz[:, j("head_center" if "head_center" in js.joints else "head")] - hips
    forward = np.cross(left, up)          # LUF: x (left) cross y (up) = z (forward)
    return left[:, 0], forward[:, 2], up[:, 1]


def share(x):
    x = x[~np.isnan(x)]
    return np.mean(x > 0)


# ---------------------------------------------------------------- MSR Action3D

def test_msr_counts_match_the_readme(msr, msr_raw):
    """567 files, 557 used, 20 classes of 20-30 (class 15 has 20), 10 subjects, 13-76 frames (median 39) at 15 fps

    (the README's "T = 13..100 for the 557 used files" holds for the 564 files that parse and are not corrupt: the
    100-frame file, a04_s03_e01, is one of the 10 left out)"""
    assert len(msr_raw) == 567 and msr.meta["files"] == 567
    assert len(msr) == 557 and msr.num_classes == 20 and msr.class_names == MSR_ACTIONS
    counts = msr.class_counts()
    assert counts.min() == 20 and counts.max() == 30 and counts[14] == 20 and counts.sum() == 557
    assert sorted(set(msr.subjects.tolist())) == list(range(1, 11))
    assert (msr.lengths.min(), msr.lengths.max(), np.median(msr.lengths)) == (13, 76, 39) and {s.fps for s in msr.sequences} == {15.0}


def test_msr_bad_files_are_the_known_ten_with_their_reasons(msr):
    bad = {b["file"][:11]: b["reason"] for b in msr.meta["bad_files"]}
    assert sorted(bad) == MSR_BAD
    assert all("not in files_used_in_cvpr12_paper.txt" in r for r in bad.values())
    assert "got all 38 frames zero" in bad["a13_s09_e02"]
    assert "936 frames, more than max_frames=300" in bad["a13_s09_e03"]
    assert "only 9 of 45 frames tracked" in bad["a07_s04_e01"]
    content = {k for k, r in bad.items() if r != "not in files_used_in_cvpr12_paper.txt"}
    assert content == {"a07_s04_e01", "a13_s09_e02", "a13_s09_e03"}   # the other 7 are bad only by the list


def test_msr_without_the_list_keeps_the_content_checks(shared_data):
    ds = load_msr_action3d(shared_data / "msr_action3d", use_paper_list=False)
    assert len(ds) == 564 and ds.lengths.max() == 100 and sorted(b["file"][:11] for b in ds.meta["bad_files"]) == ["a07_s04_e01", "a13_s09_e02", "a13_s09_e03"]


def test_msr_every_file_equals_its_plain_parse(shared_data, msr, msr_raw):
    """each of the 567 files, read alone, equals np.loadtxt through x -> -x, z -> -z; zeros -> NaN, conf 0"""
    folder = shared_data / "msr_action3d/real_world_coordinates"
    loaded = dict(zip(msr.names, msr.sequences))
    for name, raw in msr_raw.items():
        zero = ~raw[..., :3].any(-1)
        if zero.all():
            with pytest.raises(FormatError, match="all 38 frames zero"): read_msr_action3d(folder / f"{name}_skeleton3D.txt")
            continue
        s = loaded.get(name) or read_msr_action3d(folder / f"{name}_skeleton3D.txt")
        want = np.where(zero[..., None], np.nan, raw[..., :3] * FLIP).astype(np.float32)
        np.testing.assert_array_equal(s.xyz, want)
        np.testing.assert_array_equal(s.conf, np.where(zero, 0, raw[..., 3]).astype(np.float32))


def test_msr_axes_person_faces_plus_z_left_is_plus_x(msr):
    x = np.concatenate([s.xyz for s in msr.sequences])
    left_x, fwd_z, up_y = facing(x, msr.joint_set)
    assert share(left_x) > 0.95 and share(fwd_z) > 0.95 and share(up_y) > 0.99
    assert np.nanmedian(x[:, 0, 2]) < -2      # the camera's depth (2.5-3 m) is now -z: not centred


def test_msr_cross_subject_split(msr):
    tr, te = msr.split("xsub_train"), msr.split("xsub_test")
    assert set(tr.subjects.tolist()) == {1, 3, 5, 7, 9} and set(te.subjects.tolist()) == {2, 4, 6, 8, 10}
    assert len(tr) + len(te) == 557


# ---------------------------------------------------------------- UTKinect

def test_utkinect_counts_match_the_readme(utk, utk_raw):
    """199 segments, 20 per class, carry 19; 15,860 rows of which 542 repeat; 5..114 stored rows per segment (median 29)"""
    assert len(utk) == 199 and utk.class_names == UTKINECT_ACTIONS
    assert utk.class_counts().tolist() == [20, 20, 20, 20, 19, 20, 20, 20, 20, 20]
    assert utk.meta["bad_files"] == [{"file": "joints_s10_e02.txt: carry", "reason": "actionLabel_modified.txt gives NaN bounds (no segment)"}]
    assert sum(len(a) for a in utk_raw.values()) == 15860 and utk.meta["repeated_frame_ids"] == 542
    rows = []
    for s in utk.sequences:
        fid = utk_raw[s.meta["recording"]][:, 0]
        a, b = s.meta["frame_range"]
        rows.append(((fid >= a) & (fid <= b)).sum())
    assert (min(rows), max(rows), np.median(rows)) == (5, 114, 29)
    assert utk.meta["labels"] == "actionLabel_modified.txt" and sorted(set(utk.subjects.tolist())) == list(range(1, 11))


def test_utkinect_original_labels_also_give_199(shared_data):
    ds = load_utkinect(shared_data / "utkinect", labels="actionLabel.txt")
    assert len(ds) == 199 and ds.meta["labels"] == "actionLabel.txt"
    lab, mod = (read_utkinect_labels(shared_data / f"utkinect/{n}") for n in ("actionLabel.txt", "actionLabel_modified.txt"))
    changed = sorted((r, a) for r in lab for a in lab[r] if lab[r][a] != mod[r][a])
    assert changed == [("s01_e02", "walk"), ("s03_e01", "push"), ("s07_e01", "pull"), ("s07_e02", "pull"),
                       ("s09_e01", "push"), ("s10_e01", "carry"), ("s10_e02", "pull")]   # the README's 7


def test_utkinect_time_base_and_exact_stored_frames(utk, utk_raw):
    """the grid is every 2 frame ids from the first stored id; where it meets a stored id the joints are that row's
    (the first row of a repeated id), converted; elsewhere they lie between their stored neighbours"""
    exact = 0
    for s in utk.sequences:
        raw = utk_raw[s.meta["recording"]]
        first = np.r_[True, np.diff(raw[:, 0]) != 0]
        ids, rows = raw[first, 0].astype(int), raw[first, 1:].reshape(-1, 20, 3) * FLIP
        f = np.array(s.meta["frame_ids"])
        assert s.fps == 15 and s.T == (f[-1] - f[0]) // 2 + 1 and f[0] >= s.meta["frame_range"][0] and f[-1] <= s.meta["frame_range"][1]
        grid = f[0] + 2 * np.arange(s.T)
        hit = np.isin(grid, ids)
        np.testing.assert_array_equal(s.xyz[hit], rows[np.searchsorted(ids, grid[hit])].astype(np.float32))
        exact += hit.sum()
    assert exact > 3000


def test_utkinect_repeated_ids_keep_the_first_row(shared_data, utk_raw):
    rec = read_utkinect_joints(shared_data / "utkinect/joints/joints_s01_e01.txt")
    raw = utk_raw["s01_e01"]
    assert rec.repeated == 15 and len(rec.frame_ids) == len(raw) - 15 and (np.diff(rec.frame_ids) > 0).all()
    np.testing.assert_array_equal(rec.xyz[0], (raw[0, 1:].reshape(20, 3) * FLIP).astype(np.float32))   # rows 0 and 1 share id 190


def test_utkinect_axes(utk):
    x = np.concatenate([s.xyz for s in utk.sequences])
    left_x, fwd_z, up_y = facing(x, utk.joint_set)
    assert share(left_x) > 0.9 and share(fwd_z) > 0.9 and share(up_y) > 0.99


def test_utkinect_loading_records_bad_files_and_mismatched_labels(tmp_path, shared_data):
    """a joints file without labels, a label entry without a file, a broken file, a segment with no frames"""
    src = shared_data / "utkinect/joints"
    (tmp_path / "joints").mkdir()
    for r in ("s01_e01", "s02_e01", "s04_e01"): (tmp_path / f"joints/joints_{r}.txt").write_bytes((src / f"joints_{r}.txt").read_bytes())
    (tmp_path / "joints/joints_s04_e01.txt").write_text("1 2 3\n")
    (tmp_path / "actionLabel.txt").write_text("s01_e01\nwalk: 252 390\nsitDown: 99990 99999\ns03_e01\nwalk: 1 9\ns04_e01\nwalk: 1 9\n")
    ds = load_utkinect(tmp_path)
    assert ds.names == ("s01_e01_walk",)
    bad = {b["file"]: b["reason"] for b in ds.meta["bad_files"]}
    assert bad == {"joints_s01_e01.txt: sitDown": "s01_e01 frames 99990..99999: expected at least 2 tracked stored frames, got 0",
                   "joints_s02_e01.txt": "no segments for s02_e01 in actionLabel.txt",
                   "joints_s04_e01.txt": "line 1: expected 61 values per row (a frame id and 20 joints x y z), got 3 values (the last row is short: a truncated file?)",
                   "joints_s03_e01.txt": "listed in actionLabel.txt but absent"}


def test_utkinect_missing_label_file(tmp_path, shared_data):
    (tmp_path / "joints").mkdir()
    (tmp_path / "joints/joints_s01_e01.txt").write_bytes((shared_data / "utkinect/joints/joints_s01_e01.txt").read_bytes())
    with pytest.raises(FileNotFoundError, match=r"actionLabel.txt: no such file \(expected UTKinect action labels\)"): load_utkinect(tmp_path)
    with pytest.raises(ValueError, match="not a dataset folder autopose recognises"): load_dataset(tmp_path)


# ---------------------------------------------------------------- NTU RGB+D

def plain_ntu(path):
    """an independent line-by-line parse of a one-body file: (T, 25, 12) floats"""
    lines, out, i = path.read_text().split("\n"), [], 1
    for _ in range(int(lines[0])):
        n = int(lines[i]); i += 1
        for _ in range(n):
            out.append([[float(v) for v in lines[i + 2 + j].split()] for j in range(25)]); i += 27
    return np.array(out)


def test_ntu_counts_match_the_readme(ntu):
    """103 frames, one body in every frame, 25 joints; 2208 joint-frames tracked, 367 inferred; colour pixels 998..1099 x 315..709"""
    assert (ntu.T, ntu.B, ntu.present.all(), ntu.xyz.shape) == (103, 1, True, (1, 103, 25, 3))
    assert ((ntu.tracking == 2).sum(), (ntu.tracking == 1).sum()) == (2208, 367)
    cx, cy = ntu.color_xy[..., 0], ntu.color_xy[..., 1]
    assert (round(cx.min()), round(cx.max()), round(cy.min()), round(cy.max())) == (998, 1099, 315, 709)
    assert ntu.body_ids == ("72057594037931101",)


def test_ntu_values_equal_a_plain_parse(ntu, ntu_file):
    raw = plain_ntu(ntu_file)
    np.testing.assert_array_equal(ntu.xyz[0], (raw[..., :3] * FLIP).astype(np.float32))
    np.testing.assert_array_equal(ntu.depth_xy[0], raw[..., 3:5].astype(np.float32))
    np.testing.assert_array_equal(ntu.color_xy[0], raw[..., 5:7].astype(np.float32))
    np.testing.assert_array_equal(ntu.tracking[0], raw[..., 11])
    q = raw[..., 7:11]                                     # w x y z, camera space; 0 0 0 0 where none
    has = q.any(-1)
    assert (np.isnan(ntu.orientation[0]).all(-1) == ~has).all() and has.sum() == 103 * 18   # head, feet, hand tips, thumbs: none
    from scipy.spatial.transform import Rotation
    R_file = Rotation.from_quat(np.roll(q[has], -1, axis=-1)).as_matrix()
    R_ours = Rotation.from_quat(ntu.orientation[0][has]).as_matrix()
    np.testing.assert_allclose(R_ours, axes_matrix("RUB") @ R_file, atol=1e-6)


def test_ntu_sequence_conf_axes_and_2d(ntu):
    s = ntu.to_sequence()
    assert (s.joint_set.name, s.T, s.fps, s.image_size) == ("ntu25", 103, 30.0, (1920, 1080))
    assert set(np.unique(s.conf).tolist()) == {0.5, 1.0} and (s.conf == 0.5).sum() == 367
    left_x, fwd_z, up_y = facing(s.xyz, s.joint_set)
    assert share(left_x) > 0.95 and share(fwd_z) > 0.95 and share(up_y) == 1
    # NTU's colour frames are mirrored: facing the camera, the subject's left shoulder is LEFT of the right one in the
    # image (pixel x grows with camera x); the pixel joints are kept as the frames show them, the names anatomical
    j = s.joint_set.index
    assert (s.xy[:, j("left_shoulder"), 0] < s.xy[:, j("right_shoulder"), 0]).mean() > 0.95
    assert np.corrcoef(s.xy[..., 0].ravel(), -s.xyz[..., 0].ravel())[0, 1] > 0.95


def test_ntu_dataset_from_the_video_folder(shared_data):
    ds = load_dataset(shared_data / "ntu_video")
    assert detect_dataset(shared_data / "ntu_video") == "ntu"
    assert (len(ds), ds.names, ds.num_classes, ds.class_names[ds.labels[0]], ds.subjects.tolist()) == \
           (1, ("S001C001P001R001A001",), 60, "drink water", [1])
    assert {k: v.tolist() for k, v in ds.splits.items()} == {"xsub_train": [0], "xsub_test": [], "xview_train": [], "xview_test": [0],
                                                            "xset_train": [], "xset_test": [0]}
    assert 1 in NTU_XSUB_TRAIN and len(NTU_ACTIONS) == 120


def test_ntu_multibody_tracking_and_main_actor(tmp_path, ntu_file):
    """two bodies with their own IDs across frames, a frame with none; the one that moves is the main actor"""
    lines = ntu_file.read_text().split("\n")
    block = lambda t, bid: [lines[1 + 28 * t + 1].replace("72057594037931101", bid)] + lines[1 + 28 * t + 2:1 + 28 * t + 28]
    still = [lines[1 + 28 * 0 + 1].replace("72057594037931101", "42")] + lines[3:29]        # frame 0's body, frozen
    frames = [["1"] + block(0, "7"), ["2"] + still + block(1, "7"), ["0"], ["2"] + block(3, "7") + still]
    (tmp_path / "S002C003P010R001A055.skeleton").write_text("\n".join(["4"] + [l for f in frames for l in f]) + "\n")
    sk = read_ntu_skeleton(tmp_path / "S002C003P010R001A055.skeleton")
    assert sk.body_ids == ("7", "42") and sk.present.astype(int).tolist() == [[1, 1, 0, 1], [0, 1, 0, 1]]
    assert sk.main_body() == 0 and sk.to_sequence().meta["body_id"] == "7"
    seqs = sk.to_sequences()
    assert [s.missing_mask().all(1).tolist() for s in seqs] == [[False, False, True, False], [True, False, True, False]]
    np.testing.assert_array_equal(seqs[1].xyz[1], seqs[1].xyz[3])
    ds = load_ntu(tmp_path)
    assert ds.class_names[ds.labels[0]] == "hugging other person" and ds.sequences[0].meta["bodies"] == 2


# ---------------------------------------------------------------- BVH

@pytest.mark.parametrize("clip,frames", [("131_01", 994), ("131_02", 1247), ("131_03", 1102)])
def test_cmu_bvh_frames_units_and_body(cmu, clip, frames):
    b = cmu[clip]
    s = b.to_sequence()
    assert (b.T, b.fps, b.unit, s.joint_set.name, s.xyz.shape) == (frames, 120.0, CMU_UNIT, "cmu_bvh31", (frames, 31, 3))
    j = s.joint_set.index
    femur = np.linalg.norm(s.xyz[:, j("LeftKnee")] - s.xyz[:, j("LeftHip")], axis=-1)
    np.testing.assert_allclose(femur, 7.29 * CMU_UNIT, rtol=1e-3)                      # the README's 0.41 m
    toes = s.xyz[:, [j("LeftToe"), j("RightToe")], 1]
    assert -0.01 < toes.min() < 0.1 and 0.8 < np.median(s.xyz[:, 0, 1]) < 1.0          # on the floor, hips ~0.9 m up
    left = s.xyz[:, j("LeftHip")] - s.xyz[:, j("RightHip")]
    up = s.xyz[:, j("Head")] - s.xyz[:, 0]
    forward = np.cross(left, up)
    feet = s.xyz[:, j("LeftToe")] - s.xyz[:, j("LeftAnkle")]
    assert (np.einsum("tc,tc->t", forward, feet) > 0).mean() > 0.95                   # the toes point forward: left is left


@pytest.mark.parametrize("clip", ["131_01", "131_02", "131_03"])
def test_cmu_bvh_read_write_read(cmu, clip, tmp_path):
    b = cmu[clip]
    c = read_bvh(write_bvh(b, tmp_path / f"{clip}.bvh"))
    assert (c.names, c.parents, c.channels, c.end_sites, c.T, c.unit) == (b.names, b.parents, b.channels, b.end_sites, b.T, b.unit)
    np.testing.assert_allclose(c.motion, b.motion, atol=1e-6, rtol=0)
    np.testing.assert_allclose(c.offsets, b.offsets, atol=1e-6, rtol=0)
    np.testing.assert_allclose(c.positions(), b.positions(), atol=1e-6, rtol=0)
    assert c.frame_time == b.frame_time


def test_cmu_bvh_converts_to_other_sets(cmu):
    s = cmu["131_01"].to_sequence()
    for dst in ("smpl22", "h36m17", "ntu25"):
        assert convert(s, dst).xyz.shape == (994, len(convert(s, dst).joint_set), 3)


def test_bvh_partial_rotation_channels_and_joint_positions(tmp_path):
    """a joint with one rotation channel, one with two and its own position channels: composed in the listed order"""
    from scipy.spatial.transform import Rotation
    text = ("HIERARCHY\nROOT R\n{\n OFFSET 1 2 3\n CHANNELS 3 Yrotation Xposition Zrotation\n JOINT A\n {\n  OFFSET 0 1 0\n"
            "  CHANNELS 1 Zrotation\n  JOINT B\n  {\n   OFFSET 0 1 0\n   CHANNELS 5 Xposition Xrotation Yposition Zrotation Zposition\n"
            "   End Site\n   {\n    OFFSET 0 1 0\n   }\n  }\n }\n}\nMOTION\nFrames: 1\nFrame Time: 0.5\n30 0.5 -20 45 0.1 10 0.2 60 0.3\n")
    b = read_bvh(_bad(tmp_path, "p.bvh", text), unit=1)
    R = b.local_rotmats()[0]
    np.testing.assert_allclose(R[0], Rotation.from_euler("YZ", [30, -20], degrees=True).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(R[1], Rotation.from_euler("Z", 45, degrees=True).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(R[2], Rotation.from_euler("XZ", [10, 60], degrees=True).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(b.local_translations()[0], [[1.5, 2, 3], [0, 1, 0], [0.1, 1.2, 0.3]], atol=1e-12)
    c = read_bvh(write_bvh(b, tmp_path / "p2.bvh"), unit=1)
    assert c.channels == b.channels and c.end_sites == b.end_sites and c.fps == 2.0
    np.testing.assert_allclose(c.positions(), b.positions(), atol=1e-6)


def test_bvh_non_cmu_hierarchy_gets_its_own_joint_set(tmp_path):
    b = read_bvh(_bad(tmp_path, "x.bvh", BVH_OK.replace("Spine", "LeftArm") + ""), unit=1)
    js = b.to_sequence().joint_set
    assert (js.name, js.joints, js.parents) == ("bvh_x", ("Hips", "LeftArm"), (-1, 0))


def test_bvh_from_rotations_round_trip(tmp_path):
    from scipy.spatial.transform import Rotation
    rng = np.random.default_rng(3)
    parents = (-1, 0, 1, 2, 0, 4, 5)
    L = Rotation.random(11 * 7, random_state=rng).as_matrix().reshape(11, 7, 3, 3)
    off = rng.normal(0, 10, (7, 3))
    b = Bvh.from_rotations([f"j{i}" for i in range(7)], parents, off, L, rng.normal(0, 50, (11, 3)), fps=60, order="YXZ", unit=0.01)
    c = read_bvh(write_bvh(b, tmp_path / "r.bvh"), unit=0.01)
    assert c.channels[1] == ("Yrotation", "Xrotation", "Zrotation") and c.fps == 60
    np.testing.assert_allclose(c.local_rotmats(), L, atol=1e-7)
    np.testing.assert_allclose(c.positions(), b.positions(), atol=1e-6)


# ---------------------------------------------------------------- HumanML3D and SynthDa

def test_humanml3d_text_to_motion(shared_data):
    s = read_humanml3d(shared_data / "synthda_reference/real_synth/gen_motion_00_L108_00_a.npy")
    assert (s.joint_set.name, s.T, s.fps) == ("smpl22", 108, 20.0)
    left_x, fwd_z, up_y = facing(s.xyz[:10], s.joint_set)
    assert (left_x > 0).all() and (fwd_z > 0).all() and (up_y > 0).all()


def test_synthda_joints_in_contract_axes(shared_data):
    d = shared_data / "synthda_reference"
    for f, T in [("real_real/output_keypoints_3d_test_video_1.npz", 129), ("real_real/output_keypoints_3d_test_video_2.npz", 131),
                 ("real_synth/output_keypoints_3d.npz", 129)]:
        s = read_synthda(d / f)
        assert (s.joint_set.name, s.T, s.fps) == ("h36m17", T, 30.0)
        j = s.joint_set.index
        up = s.xyz[:5, j("head_top")] - s.xyz[:5, j("mid_hip")]
        assert (up[:, 1] > 0.5).all()                                        # standing at the start (then falling), y up
        left = s.xyz[:5, j("left_hip")] - s.xyz[:5, j("right_hip")]
        assert (np.cross(left, up)[:, 2] > 0).all()                          # facing the camera: +z
        mapped = read_synthda(d / f.replace("test_video_", "real").replace(".npz", ".npy")) if "video" in f else read_synthda(d / "real_synth/output_keypoints_3d.npy")
        np.testing.assert_allclose(mapped.xyz, named_map("synthda_h36m17_to_smpl22")(s.xyz), atol=1e-6)


def test_synthda_flip_is_the_motion_recentred(shared_data):
    """SynthDa's _flip file is the HumanML3D motion minus frame 0's median, turned into camera axes: read back, the same"""
    d = shared_data / "synthda_reference/real_synth"
    g, f = read_synthda(d / "gen_motion_00_L108_00_a.npy"), read_synthda(d / "gen_motion_00_L108_00_a_flip.npy")
    assert g.meta["axes"].startswith("from HumanML3D") and f.meta["axes"].startswith("from camera coordinates")
    np.testing.assert_allclose(f.xyz, g.xyz - np.median(g.xyz[0], axis=0), atol=1e-6)


def test_synthda_every_file_reads(shared_data):
    files = sorted((shared_data / "synthda_reference").rglob("*.np[yz]"))
    joints = [f for f in files if "features" not in f.name]
    assert len(files) == len(joints) + 1 and len(joints) >= 25
    for f in joints:
        s = read_synthda(f)
        assert s.joint_set.name in ("h36m17", "smpl22") and np.isfinite(s.xyz).all()
    with pytest.raises(FormatError, match=r"got shape \(1, 108, 263\) \(HumanML3D feature vectors, not joints\?\)"):
        read_synthda([f for f in files if "features" in f.name][0])


# ---------------------------------------------------------------- pyskl pickles

def gcn_pipeline(a, num_person=2):
    """what pyskl's 3D GCN pipeline (PoseDecode, PreNormalize3D's checks, GenSkeFeat, FormatGCNInput) asserts and
    does with an annotation, written out here because pyskl is not installed: its asserts must hold"""
    kp, T = a["keypoint"], a["total_frames"]
    M, Tk, V, C = kp.shape
    assert Tk == T and M in (1, 2) and C in (2, 3)                       # PreNormalize3D; JointToBone
    assert not ("keypoint_score" in a and C == 3)                        # GenSkeFeat: 'Only 2D keypoints have keypoint_score'
    x = kp[:, np.arange(T)].astype(np.float32)                           # PoseDecode
    x = np.concatenate([x, np.zeros((num_person - M,) + x.shape[1:], np.float32)]) if M < num_person else x[:num_person]
    return np.ascontiguousarray(x.reshape(num_person, 1, T, V, C).transpose(1, 0, 2, 3, 4))   # FormatGCNInput


def test_pyskl_from_msr_field_by_field(msr, tmp_path):
    p = write_pyskl(msr, tmp_path / "msr.pkl")
    raw = pickle.loads(p.read_bytes())
    assert sorted(raw) == ["annotations", "split"]
    assert {k: len(v) for k, v in raw["split"].items()} == {"xsub_train": len(msr.splits["xsub_train"]), "xsub_val": len(msr.splits["xsub_test"])}
    assert len(raw["annotations"]) == 557
    for a, s, name, label in zip(raw["annotations"], msr.sequences, msr.names, msr.labels):
        assert tuple(a) == PYSKL_FIELDS_3D
        assert (a["frame_dir"], a["label"], a["total_frames"]) == (name, int(label), s.T)
        assert type(a["frame_dir"]) is str and type(a["label"]) is int and type(a["total_frames"]) is int
        assert a["keypoint"].dtype == np.float32 and a["keypoint"].shape == (1, s.T, 20, 3)
        np.testing.assert_array_equal(a["keypoint"][0], np.nan_to_num(s.xyz))      # missing joints written as 0
        assert gcn_pipeline(a).shape == (1, 2, s.T, 20, 3)
    assert (tmp_path / "msr_label_map.txt").read_text().splitlines() == list(MSR_ACTIONS)
    back = read_pyskl(p, joint_set="kinect_v1_msr", fps=15)
    assert (back.names, back.class_names, back.labels.tolist(), back.subjects.tolist()) == \
           (msr.names, msr.class_names, msr.labels.tolist(), msr.subjects.tolist())
    assert {k: v.tolist() for k, v in back.splits.items()} == {k: v.tolist() for k, v in msr.splits.items()}
    for a, b in zip(msr.sequences, back.sequences):
        np.testing.assert_array_equal(b.xyz, a.xyz)                                      # NaN where missing, float32 exact
        np.testing.assert_array_equal(b.conf, np.where(np.isnan(a.xyz[..., 0]), 0, 1))  # 3D pickles keep no scores
        assert b.fps == 15 and b.meta["persons"] == 1


def test_pyskl_ntu25_and_2d(msr, ntu, tmp_path):
    a = pickle.loads(write_pyskl(msr.subset(np.arange(5)), tmp_path / "n.pkl", joint_set="ntu25").read_bytes())["annotations"][0]
    assert a["keypoint"].shape[2] == 25 and gcn_pipeline(a).shape[-2:] == (25, 3)
    s = ntu.to_sequence()
    ds = PoseDataset([s], [0], NTU_ACTIONS[:60], names=["S001C001P001R001A001"], splits={"xsub_train": [0], "xsub_test": []})
    raw = pickle.loads(write_pyskl(ds, tmp_path / "ntu2d.pkl", mode="2d").read_bytes())
    a = raw["annotations"][0]
    assert tuple(a) == PYSKL_FIELDS_2D and a["img_shape"] == a["original_shape"] == (1080, 1920)
    assert a["keypoint"].shape == (1, 103, 25, 2) and a["keypoint_score"].dtype == np.float32
    np.testing.assert_array_equal(a["keypoint_score"][0], s.conf)
    back = read_pyskl(tmp_path / "ntu2d.pkl")
    np.testing.assert_array_equal(back[0].xy, s.xy); np.testing.assert_array_equal(back[0].conf, s.conf)
    assert back[0].image_size == (1920, 1080) and back.subjects.tolist() == [1] and set(back.splits) == {"xsub_train", "xsub_test"}


def test_pyskl_reads_any_number_of_persons(tmp_path):
    kp = np.random.default_rng(0).normal(size=(2, 6, 25, 3)).astype(np.float32); kp[1, 4:] = 0
    (tmp_path / "m.pkl").write_bytes(pickle.dumps({"split": {"xsub_val": ["S001C001P002R001A050"]},
                                                   "annotations": [{"frame_dir": "S001C001P002R001A050", "label": 49, "total_frames": 6, "keypoint": kp}]}))
    ds = read_pyskl(tmp_path / "m.pkl")
    np.testing.assert_array_equal(ds[0].xyz, kp[0])
    assert (ds[0].meta["persons"], ds.meta["multi_person_samples"], ds.splits["xsub_test"].tolist(), ds.subjects.tolist()) == (2, 1, [0], [2])
    assert ds.class_names[49] == "class_49" and ds.joint_set.name == "ntu25"


# ---------------------------------------------------------------- UTD-MHAD (no sample shipped: written in its layout)

def test_utd_mhad_files_in_the_documented_layout(tmp_path):
    rng = np.random.default_rng(0)
    made = {}
    for a, s, t in [(1, 1, 1), (1, 1, 2), (8, 2, 1), (27, 8, 4), (14, 3, 3)]:
        d = rng.normal(size=(20, 3, 40 + a)); d[:, 2] += 3          # (20, 3, T), metres, z = depth
        scipy.io.savemat(tmp_path / f"a{a}_s{s}_t{t}_skeleton.mat", {"d_skel": d}); made[f"a{a}_s{s}_t{t}"] = d
    scipy.io.savemat(tmp_path / "a2_s1_t1_skeleton.mat", {"skel": np.zeros((20, 3, 5))})
    ds = load_dataset(tmp_path)
    assert detect_dataset(tmp_path) == "utd_mhad" and ds.class_names == UTD_MHAD_ACTIONS and len(UTD_MHAD_ACTIONS) == 27
    assert ds.names == ("a1_s1_t1", "a1_s1_t2", "a8_s2_t1", "a14_s3_t3", "a27_s8_t4")
    assert ds.labels.tolist() == [0, 0, 7, 13, 26] and ds.subjects.tolist() == [1, 1, 2, 3, 8]
    assert ds.split("xsub_train").names == ("a1_s1_t1", "a1_s1_t2", "a14_s3_t3")
    assert ds.meta["bad_files"] == [{"file": "a2_s1_t1_skeleton.mat", "reason": "field 'd_skel': expected d_skel, (20, 3, T), got fields ['skel']"}]
    for name, s in zip(ds.names, ds.sequences):
        np.testing.assert_allclose(s.xyz, np.moveaxis(made[name], 2, 0) * FLIP, rtol=1e-6)
        assert (s.joint_set.name, s.fps) == ("kinect_v1_utd", 30.0)


# ---------------------------------------------------------------- load_dataset on the real folders

def test_load_dataset_recognises_real_folders(shared_data, msr):
    assert [detect_dataset(shared_data / d) for d in ("msr_action3d", "utkinect", "ntu_video")] == ["msr_action3d", "utkinect", "ntu"]
    for d in ("cmu_bvh", "synthda_reference"):
        with pytest.raises(ValueError, match="not a dataset folder autopose recognises; looked for MSR Action3D"):
            load_dataset(shared_data / d)
    assert load_dataset("msr_action3d", shared_data / "msr_action3d").names == msr.names


def test_saved_dataset_round_trip_keeps_the_report(msr, tmp_path):
    back = load_dataset(msr.save(tmp_path / "msr.npz"))
    assert back.names == msr.names and back.meta["bad_files"] == msr.meta["bad_files"]
    np.testing.assert_array_equal(back[100].xyz, msr[100].xyz)


# ---------------------------------------------------------------- the bad-input battery

def _bad(tmp_path, name, text):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


MSR_LINE = "-0.371736 0.371031 2.674849 1.000000\n"
UTK_LINE = "190 " + " ".join(["0.5"] * 60) + "\n"
NTU_BODY = ["72057594037931101 0 1 1 1 1 0 0.02 0.05 2", "25"] + ["0.2 0.1 3.7 277.4 191.8 1036.2 519.1 0.5 0.5 0.5 0.5 2"] * 25
NTU_OK = "\n".join(["2", "1"] + NTU_BODY + ["1"] + NTU_BODY) + "\n"
BVH_OK = ("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation\n"
          " JOINT Spine\n {\n  OFFSET 0 0.5 0\n  CHANNELS 3 Zrotation Yrotation Xrotation\n  End Site\n  {\n   OFFSET 0 0.5 0\n  }\n }\n}\n"
          "MOTION\nFrames: 2\nFrame Time: 0.0333333\n0 1 0 0 0 0 0 0 0\n0 1 0 10 0 0 0 0 5\n")

TEXT_CASES = [  # (reader, file name, text, expected in the message)
    (read_msr_action3d, "a01_s01_e01_skeleton3D.txt", MSR_LINE * 39 + "-0.37 0.37\n", "line 40: expected 4 values per row (x y z confidence (MSR Action3D real-world coordinates)), got 2 values (the last row is short: a truncated file?)"),
    (read_msr_action3d, "a01_s01_e01_skeleton3D.txt", MSR_LINE * 39, "rows: expected 20 rows per frame, one per joint, got 39 rows, not a multiple of 20"),
    (read_msr_action3d, "a01_s01_e01_skeleton3D.txt", MSR_LINE * 19 + "1 2 3 1 5\n", "line 20: expected 4 values per row"),
    (read_msr_action3d, "a01_s01_e01_skeleton3D.txt", MSR_LINE * 19 + "1 2 three 1\n", "line 20, column 3: expected a number, got 'three'"),
    (read_msr_action3d, "a01_s01_e01_skeleton3D.txt", "", "expected a table of x y z confidence (MSR Action3D real-world coordinates), got an empty file"),
    (read_msr_action3d, "a01_s01_e01_skeleton3D.txt", MSR_LINE * 19 + "nan 1 1 1\n", "line 20, column 1: expected a finite number, got nan"),
    (read_msr_action3d, "a01_s01_e01_skeleton3D.txt", MSR_LINE * 19 + "1 inf 1 1\n", "line 20, column 2: expected a finite number, got inf"),
    (read_msr_action3d, "a01_s01_e01_skeleton3D.txt", "0 0 0 0\n" * 40, "frames: expected at least one tracked frame (MSR Action3D), got all 2 frames zero"),
    (read_msr_action3d, "a01_s01_e01_skeleton3D.txt", MSR_LINE * 25, "rows: expected 20 rows per frame, one per joint, got 25 rows, not a multiple of 20 (a truncated file or a wrong joint count)"),
    (read_utkinect_joints, "joints_s01_e01.txt", UTK_LINE * 3 + "194 0.5 0.5\n", "line 4: expected 61 values per row (a frame id and 20 joints x y z), got 3 values (the last row is short: a truncated file?)"),
    (read_utkinect_joints, "joints_s01_e01.txt", UTK_LINE + "194 " + " ".join(["0.5"] * 57) + "\n", "line 2: expected 61 values per row (a frame id and 20 joints x y z), got 58 values"),
    (read_utkinect_joints, "joints_s01_e01.txt", UTK_LINE + UTK_LINE.replace("0.5", "x", 1), "line 2, column 2: expected a number, got 'x'"),
    (read_utkinect_joints, "joints_s01_e01.txt", " \n\n", "got an empty file"),
    (read_utkinect_joints, "joints_s01_e01.txt", UTK_LINE.replace("0.5", "NaN", 1), "line 1, column 2: expected a finite number, got nan"),
    (read_utkinect_joints, "joints_s01_e01.txt", "190 " + " ".join(["0"] * 60) + "\n", "frames: expected at least one tracked frame (UTKinect), got all 1 frames zero"),
    (read_utkinect_labels, "actionLabel.txt", "s01_e01\nwalk 252 390\n", "line 2: expected a recording name like 's01_e01', then lines '<action>: <first frame id> <last frame id>', got 'walk 252 390'"),
    (read_utkinect_labels, "actionLabel.txt", "s01_e01\nwalk: 252 abc\n", "line 2: expected two integer frame ids, first <= last (or NaN NaN), got '252' 'abc'"),
    (read_utkinect_labels, "actionLabel.txt", "s01_e01\ndance: 1 2\n", "line 2: expected one of walk, sitDown, standUp"),
    (read_utkinect_labels, "actionLabel.txt", "", "got an empty file"),
    (read_ntu_skeleton, "S001C001P001R001A001.skeleton", NTU_OK[:NTU_OK.index("\n1\n") + 60], "expected a joint line of 12 values"),
    (read_ntu_skeleton, "S001C001P001R001A001.skeleton", NTU_OK.replace("3.7 277.4", "3.7", 1), "line 5: expected a joint line of 12 values: x y z depthX depthY colorX colorY orientationW X Y Z trackingState, got 11 values"),
    (read_ntu_skeleton, "S001C001P001R001A001.skeleton", NTU_OK.replace("277.4", "27x.4", 1), "line 5, column 4: expected a number, got '27x.4'"),
    (read_ntu_skeleton, "S001C001P001R001A001.skeleton", "", "expected an NTU RGB+D .skeleton file, got an empty file"),
    (read_ntu_skeleton, "S001C001P001R001A001.skeleton", NTU_OK.replace("277.4", "nan", 1), "line 5, column 4: expected a finite number, got nan"),
    (read_ntu_skeleton, "S001C001P001R001A001.skeleton", NTU_OK.replace("\n25\n", "\n24\n", 1), "line 4: expected 25 joints (Kinect v2), got 24 joints"),
    (read_ntu_skeleton, "S001C001P001R001A001.skeleton", "3" + NTU_OK[1:], "expected the body count of frame 3 of 3 (1 value), got the end of the file (truncated?)"),
    (read_bvh, "a.bvh", BVH_OK.replace("0 1 0 10 0 0 0 0 5\n", "0 1 0 10 0 0"), "line 20: expected 9 values per frame, one per channel, got 6 values"),
    (read_bvh, "a.bvh", BVH_OK.replace("Frames: 2", "Frames: 5"), "line 20: expected 5 frames as 'Frames:' declares (a truncated file?), got 2 frames"),
    (read_bvh, "a.bvh", BVH_OK.replace("0 1 0 10 0 0 0 0 5", "0 1 0 10 0 0 0 0 five"), "line 20, column 9: expected a number, got 'five'"),
    (read_bvh, "a.bvh", BVH_OK.replace("0 1 0 10 0 0 0 0 5", "0 1 0 10 inf 0 0 0 5"), "line 20, column 5: expected a finite number, got inf"),
    (read_bvh, "a.bvh", "", "expected a BVH file, got an empty file"),
    (read_bvh, "a.bvh", BVH_OK.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Qrotation"), "line 9: expected a channel name"),
    (read_bvh, "a.bvh", BVH_OK.replace("CHANNELS 3 Zrotation Yrotation Xrotation", "CHANNELS 4 Zrotation Yrotation Xrotation"), "line 10: expected a channel name: Xposition"),
    (read_bvh, "a.bvh", BVH_OK.replace("OFFSET 0 0.5 0\n  CHANNELS", "OFFSET 0 nan 0\n  CHANNELS"), "line 8: expected an OFFSET value (a finite number), got nan"),
]


@pytest.mark.parametrize("reader,name,text,message", TEXT_CASES, ids=[f"{r.__name__}-{i}" for i, (r, *_ ) in enumerate(TEXT_CASES)])
def test_bad_text_files(tmp_path, reader, name, text, message):
    p = _bad(tmp_path, name, text)
    with pytest.raises(FormatError) as e: reader(p)
    assert str(e.value).startswith(f"{p}: ") and message in str(e.value), str(e.value)


def test_the_good_battery_files_read(tmp_path):
    """the files the battery breaks are good before it breaks them"""
    assert read_msr_action3d(_bad(tmp_path, "m.txt", MSR_LINE * 40)).T == 2
    assert read_utkinect_joints(_bad(tmp_path, "joints_s01_e01.txt", UTK_LINE)).frame_ids.tolist() == [190]
    assert read_ntu_skeleton(_bad(tmp_path, "S001C001P001R001A001.skeleton", NTU_OK)).present.shape == (1, 2)
    assert read_bvh(_bad(tmp_path, "a.bvh", BVH_OK)).T == 2


@pytest.mark.parametrize("reader,suffix", [(read_msr_action3d, ".txt"), (read_utkinect_joints, ".txt"), (read_utkinect_labels, ".txt"),
                                           (read_ntu_skeleton, ".skeleton"), (read_utd_mhad, ".mat"), (read_bvh, ".bvh"),
                                           (read_humanml3d, ".npy"), (read_synthda, ".npz"), (read_pyskl, ".pkl")])
def test_unreadable_paths(tmp_path, reader, suffix):
    with pytest.raises(FileNotFoundError, match=f"absent{re.escape(suffix)}: no such file"): reader(tmp_path / f"absent{suffix}")
    (tmp_path / f"dir{suffix}").mkdir()
    with pytest.raises(FormatError, match=f"dir{re.escape(suffix)}: expected .*, got a folder"): reader(tmp_path / f"dir{suffix}")
    (tmp_path / f"empty{suffix}").write_bytes(b"")
    with pytest.raises(FormatError, match=f"empty{re.escape(suffix)}: expected .*, got an empty file"): reader(tmp_path / f"empty{suffix}")


def test_bad_mat_files(tmp_path):
    good = np.random.default_rng(0).normal(size=(20, 3, 8)); good[:, 2] += 3
    cases = [({"d_skel": good[:, :, :0]}, "field 'd_skel': expected shape (20, 3, T): joints, xyz, frames, got shape (20, 3, 0)"),
             ({"d_skel": good[:19]}, "field 'd_skel': expected 20 joints (Kinect v1), shape (20, 3, T), got 19 joints (shape (19, 3, 8))"),
             ({"d_skel": good[:, :2]}, "field 'd_skel': expected shape (20, 3, T): joints, xyz, frames, got shape (20, 2, 8)"),
             ({"d_skel": np.where(np.arange(8) == 3, np.nan, good)}, "field 'd_skel', joint 1, frame 4: expected finite coordinates, got nan"),
             ({"d_skel": good * 0}, "frames: expected at least one tracked frame (UTD-MHAD), got all 8 frames zero"),
             ({"d_skel": np.array(["a", "b"])}, "field 'd_skel': expected numbers, got dtype <U1"),
             ({"other": good}, "field 'd_skel': expected d_skel, (20, 3, T), got fields ['other']")]
    for i, (content, message) in enumerate(cases):
        p = tmp_path / f"a1_s1_t{i}_skeleton.mat"
        scipy.io.savemat(p, content)
        with pytest.raises(FormatError, match=re.escape(message)): read_utd_mhad(p)
    p = tmp_path / "a1_s1_t9_skeleton.mat"
    scipy.io.savemat(p, {"d_skel": good}); p.write_bytes(p.read_bytes()[:150])
    with pytest.raises(FormatError, match="t9_skeleton.mat: expected a .mat file holding d_skel .*, got an unreadable MATLAB file"): read_utd_mhad(p)


def test_bad_npy_files(tmp_path):
    ok = np.random.default_rng(0).normal(size=(9, 22, 3)).astype(np.float32)
    cases = [(ok[:, :21], "array: expected 22 joints: (T, 22, 3) HumanML3D joints (SMPL order), got 21 joints"),
             (ok[:0], "array: expected (T, 22, 3) HumanML3D joints (SMPL order), got shape (0, 22, 3)"),
             (np.where(np.arange(22)[:, None] == 5, np.inf, ok), "frame 0, joint 5: expected finite coordinates, got NaN/inf"),
             (ok[..., :2], "array: expected (T, 22, 3) HumanML3D joints (SMPL order), got shape (9, 22, 2)")]
    for i, (a, message) in enumerate(cases):
        np.save(tmp_path / f"m{i}.npy", a)
        with pytest.raises(FormatError, match=re.escape(f"m{i}.npy: {message}")): read_humanml3d(tmp_path / f"m{i}.npy")
    np.save(tmp_path / "t.npy", ok); (tmp_path / "t.npy").write_bytes((tmp_path / "t.npy").read_bytes()[:300])
    with pytest.raises(FormatError, match="t.npy: expected a .npy / .npz file, got an unreadable file"): read_humanml3d(tmp_path / "t.npy")
    np.savez(tmp_path / "s.npz", reconstruction=np.zeros((4, 16, 3)))
    with pytest.raises(FormatError, match=re.escape("s.npz: array: expected 17 joints: (T, 17, 3) joints (17: Human3.6M, 22: SMPL order), got 16 joints")):
        read_synthda(tmp_path / "s.npz")


def test_bad_pyskl_files(tmp_path, msr):
    good = pickle.loads(write_pyskl(msr.subset([0]), tmp_path / "g.pkl").read_bytes())
    a = good["annotations"][0]
    cases = [({"annotations": []}, "top level: expected a dict with a non-empty 'annotations' list"),
             ([a], "top level: expected a dict with a non-empty 'annotations' list (and 'split'), got list"),
             ({"annotations": [{**a, "total_frames": a["total_frames"] + 1}]}, "annotations[0]['total_frames']: expected the keypoint array's T"),
             ({"annotations": [{**a, "keypoint": a["keypoint"][0]}]}, "annotations[0]['keypoint']: expected a numeric array (M, T, V, C) with C 2 or 3, got ndarray"),
             ({"annotations": [{**a, "keypoint": a["keypoint"].astype(str)}]}, "annotations[0]['keypoint']: expected a numeric array"),
             ({"annotations": [{**a, "keypoint": a["keypoint"] + np.inf}]}, "annotations[0]['keypoint']: expected finite values (0 marks a missing joint)"),
             ({"annotations": [{**a, "keypoint_score": np.ones((1, 2, 20), np.float32)}]}, "annotations[0]['keypoint_score']: expected finite scores in [0, 1] of shape (M, T, V)"),
             ({"annotations": [{k: v for k, v in a.items() if k != "label"}]}, "annotations[0]: expected a dict with at least frame_dir, label, keypoint"),
             ({"annotations": [{**a, "label": -1}]}, "annotations[0]['label']: expected an integer >= 0, got -1"),
             ({"annotations": [a, a]}, "annotations[*]['frame_dir']: expected one annotation per frame_dir, got repeated frame_dir values"),
             ({"annotations": [a], "split": {"xsub_val": ["a99_s01_e01"]}}, "split['xsub_val']: expected frame_dirs of the annotations, got frame_dir 'a99_s01_e01'")]
    for i, (obj, message) in enumerate(cases):
        p = tmp_path / f"b{i}.pkl"; p.write_bytes(pickle.dumps(obj))
        with pytest.raises(FormatError, match=re.escape(f"b{i}.pkl: {message}")): read_pyskl(p, joint_set="kinect_v1_msr")
    p = tmp_path / "w.pkl"; p.write_bytes(pickle.dumps(good))
    with pytest.raises(FormatError, match=re.escape("w.pkl: annotations[*]['keypoint']: expected 25 joints, as joint set 'ntu25' has, got 20 joints")):
        read_pyskl(p, joint_set="ntu25")
    p.write_bytes(pickle.dumps(good)[:-40])
    with pytest.raises(FormatError, match="w.pkl: expected a pyskl annotation pickle, got an unreadable pickle"): read_pyskl(p)


def test_loaders_report_bad_files_and_load_the_rest(tmp_path):
    """a folder with one bad file of each kind loads the good files and names the bad ones with their reasons"""
    root = write_example_msr_action3d(tmp_path / "msr", subjects=(1, 2), actions=(1,), executions=(1,))
    d = root / "real_world_coordinates"
    (d / "a02_s01_e01_skeleton3D.txt").write_text("1 2 3\n")
    (d / "a03_s01_e01_skeleton3D.txt").write_text((d / "a01_s01_e01_skeleton3D.txt").read_text().replace("1.000000\n", "x\n", 1))
    (root / "files_used_in_cvpr12_paper.txt").write_text("a01_s01_e01\na01_s02_e01\na02_s01_e01\na03_s01_e01\na09_s09_e09\n")
    ds = load_dataset(root)
    assert ds.names == ("a01_s01_e01", "a01_s02_e01")
    assert ds.meta["bad_files"] == [
        {"file": "a01_s03_e01_skeleton3D.txt", "reason": "frames: expected at least one tracked frame (MSR Action3D), got all 8 frames zero (nothing tracked); not in files_used_in_cvpr12_paper.txt"},
        {"file": "a02_s01_e01_skeleton3D.txt", "reason": "line 1: expected 4 values per row (x y z confidence (MSR Action3D real-world coordinates)), got 3 values (the last row is short: a truncated file?)"},
        {"file": "a03_s01_e01_skeleton3D.txt", "reason": "line 1, column 4: expected a number, got 'x'"},
        {"file": "a09_s09_e09_skeleton3D.txt", "reason": "listed in files_used_in_cvpr12_paper.txt but absent"}]
    (root / "files_used_in_cvpr12_paper.txt").write_text("a01_s01_e01\nnot-an-id\n")
    with pytest.raises(FormatError, match="files_used_in_cvpr12_paper.txt: line 2: expected MSR Action3D sample ids"): load_dataset(root)
    (root / "files_used_in_cvpr12_paper.txt").unlink()
    with pytest.raises(FileNotFoundError, match="files_used_in_cvpr12_paper.txt: no such file"): load_dataset(root)
    assert len(load_dataset(root, use_paper_list=False)) == 2
