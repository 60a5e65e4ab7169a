"""autopose.motion on real recordings: FK(IK(x)) on CMU BVH, MSR Action3D, UTKinect and NTU; mirroring and retargeting.

Real data is read with the package's readers (autopose.bvh, autopose.ntu, autopose.datasets): they convert to metres and
to the contract's axes (Kinect camera space RUB -> LUF) themselves, so nothing here turns or scales the data again.
"""
import numpy as np
import pytest

from autopose.bvh import read_bvh
from autopose.core import get_joint_set, joint_set_names
from autopose.datasets import read_msr_action3d, read_utkinect_joints
from autopose.motion import Motion, bone_lengths, ik_report, mirror, retarget
from autopose.ntu import read_ntu_skeleton
from autopose.rotations import forward_kinematics
from autopose.testing import procedural_motion, random_subject


def bvh_positions(bvh):
    """(T, J, 3) float64 metres: forward kinematics of the reader's rotations and translations. Bvh.positions() is the
    same in float32 (the storage type of PoseSequence), too coarse for the 1e-9 m bone checks of the round trip."""
    assert bvh.axes == "LUF"                                     # CMU's axes are the contract's: no turn to apply
    P, _ = forward_kinematics(bvh.local_rotmats(), bvh.local_translations() * bvh.unit, bvh.parents)
    return P


def msr_clips(shared_data, used_only=True):
    "(name, (T, 20, 3) metres in the contract's axes, untracked joints NaN) for MSR Action3D files"
    root = shared_data / "msr_action3d"
    used = set((root / "files_used_in_cvpr12_paper.txt").read_text().split())
    for f in sorted((root / "real_world_coordinates").glob("a*_s*_e*_skeleton3D.txt")):
        name = f.name.replace("_skeleton3D.txt", "")
        if used_only and name not in used: continue
        yield name, read_msr_action3d(f).xyz                     # MSR's untracked joints (0, 0, 0) come back NaN


def fk_bone_spread(m):
    "largest change over frames of any bone length of the motion's FK (m)"
    P = m.positions(); js = m.joint_set
    L = np.linalg.norm(P[:, js.bones[:, 0]] - P[:, js.bones[:, 1]], axis=-1)
    return float(np.ptp(L, axis=0).max())


@pytest.mark.parametrize("clip", ["131_01", "131_02", "131_03"])
def test_bvh_fk_ik_round_trip_is_exact(shared_data, clip):
    """CMU BVH joint positions -> Motion -> positions: < 1 mm everywhere; the bones are the file's offsets; no swings needed"""
    bvh = read_bvh(shared_data / f"cmu_bvh/{clip}.bvh")
    js = get_joint_set("cmu_bvh31")
    assert bvh.names == js.joints and bvh.parents == js.parents and bvh.fps == 120.0
    P = bvh_positions(bvh)
    m = Motion.from_positions(P, js, bvh.fps)
    err = np.linalg.norm(m.positions() - P, axis=-1)
    assert err.max() < 1e-3, err.max()
    np.testing.assert_allclose(m.lengths, np.linalg.norm(bvh.offsets * bvh.unit, axis=-1), atol=1e-9)
    assert np.abs(m.swings[..., :3]).max() < 1e-6                 # a BVH hierarchy is rigid at every joint
    assert fk_bone_spread(m) < 1e-9


@pytest.mark.parametrize("name", [n for n in joint_set_names()])
def test_procedural_round_trip_every_set(name):
    """procedural clips (constant bones) of three actions on every registered set: FK(IK(x)) < 1 mm"""
    for k, action in enumerate(("walk", "jump", "clap")):
        s = procedural_motion(action, joint_set=name, subject=random_subject(k), rng=k, place=True)
        m = Motion.from_sequence(s)
        assert np.linalg.norm(m.positions() - s.xyz, axis=-1).max() < 1e-3, (name, action)


def test_msr_every_used_file(shared_data):
    """all 557 MSR Action3D clips: FK bones constant to 1e-9 m, every bone direction reproduced, FK error = bone-length noise"""
    rows = []
    for name, x in msr_clips(shared_data):
        m = Motion.from_positions(x, "kinect_v1_msr", 15.0)
        assert fk_bone_spread(m) < 1e-9, name
        r, rr = ik_report(x, m), ik_report(x, m.rigid())
        assert r["bone_direction_error_deg"]["p95"] < 0.01, (name, r["bone_direction_error_deg"])
        rows.append((r["fk_error_mm"]["mean"], rr["fk_error_mm"]["mean"], r["bone_length_std_mm"]["max"]))
    full, rigid, noise = np.array(rows).T
    assert len(rows) == 557
    assert 2 < np.median(full) < 15          # measured: 7.9 mm (median over clips of the clip's mean FK error)
    assert np.median(rigid) > 2 * np.median(full)
    assert np.median(noise) > 5              # MSR's bones do vary (measured: 20 mm, the median clip's noisiest bone)


def test_msr_all_zero_file_is_refused(shared_data):
    """a known bad MSR file (all zeros) is refused with a clear message, not turned into a motion of zero-length bones"""
    # read raw: read_msr_action3d refuses this file itself (no tracked frame), so it cannot hand its zeros to Motion
    x = np.loadtxt(shared_data / "msr_action3d/real_world_coordinates/a13_s09_e02_skeleton3D.txt").reshape(-1, 20, 4)[..., :3]
    with pytest.raises(ValueError, match="every bone has zero length"):
        Motion.from_positions(x, "kinect_v1_msr", 15.0)


def test_utkinect_recordings(shared_data):
    """the 20 UTKinect recordings: constant FK bones, every bone direction reproduced; the bone-length noise is reported"""
    files = sorted((shared_data / "utkinect/joints").glob("joints_s*_e*.txt"))
    assert len(files) == 20
    for f in files:
        x = read_utkinect_joints(f).xyz                          # rows repeating a frame id keep their first row
        m = Motion.from_positions(x, "kinect_v1_utk", 30.0)
        r = ik_report(x, m)
        assert fk_bone_spread(m) < 1e-9 and r["bone_direction_error_deg"]["p95"] < 0.01, f.name
        assert r["bone_length_std_mm"]["median"] > 10, f.name     # measured: 28-31 mm on UTKinect


def test_ntu_clip(shared_data):
    """the NTU Kinect v2 clip: FK error 22 mm mean, all of it bone-length noise (std up to 32 mm)"""
    seq = read_ntu_skeleton(shared_data / "ntu_video/S001C001P001R001A001.skeleton").to_sequence()
    assert seq.meta["bodies"] == 1 and not np.isnan(seq.xyz).any()   # one body, every joint tracked or inferred: no NaN
    x = seq.xyz
    m = Motion.from_sequence(seq)
    r = ik_report(x, m)
    assert r["bone_direction_error_deg"]["max"] < 0.01
    assert 10 < r["fk_error_mm"]["mean"] < 40 and 20 < r["bone_length_std_mm"]["max"] < 45


def test_gaps_are_filled_and_counted(shared_data):
    """joints lost in a real clip are interpolated, counted in meta['ik'], and land within a few mm of the truth"""
    name, x = next(msr_clips(shared_data))
    y = x.copy(); y[10:14, [9, 14]] = np.nan                      # a wrist and a knee lost for 4 frames
    m = Motion.from_positions(y, "kinect_v1_msr", 15.0)
    assert m.meta["ik"]["filled_joint_frames"] == 8 + int(np.isnan(x).any(-1).sum())
    assert np.isfinite(m.positions()).all()
    assert np.linalg.norm(m.positions()[10:14, [9, 14]] - x[10:14, [9, 14]], axis=-1).max() < 0.1


def test_mirror_on_real_data(shared_data):
    """mirror(m) is exactly the mirror image of m on a real clip; mirroring twice gives m back"""
    name, x = next(msr_clips(shared_data))
    m = Motion.from_positions(x, "kinect_v1_msr", 15.0)
    js = m.joint_set
    np.testing.assert_allclose(mirror(m).positions(), (m.positions() * [-1, 1, 1])[:, js.mirror], atol=1e-12)
    np.testing.assert_allclose(mirror(mirror(m)).positions(), m.positions(), atol=1e-12)


def test_retarget_real_motion_onto_procedural_body(shared_data):
    """an MSR motion retargeted onto a procedural Kinect v2 body: that body's bone lengths, exactly, in every frame"""
    name, x = next(msr_clips(shared_data))
    m = Motion.from_positions(x, "kinect_v1_msr", 15.0)
    body = Motion.from_sequence(procedural_motion("walk", joint_set="ntu25", subject=random_subject(5), rng=0))
    out = retarget(m, body)
    assert out.joint_set.name == "ntu25" and out.T == m.T
    P = out.positions(); b = out.joint_set.bones
    np.testing.assert_allclose(np.linalg.norm(P[:, b[:, 0]] - P[:, b[:, 1]], axis=-1),
                               np.broadcast_to(body.lengths[b[:, 0]], (out.T, len(b))), atol=1e-9)
    same = retarget(m, lengths=m.lengths * 0.9)                   # within the set: rotations kept, bones scaled
    np.testing.assert_array_equal(same.rotations, m.rotations)
    np.testing.assert_allclose(bone_lengths(same.positions(), m.joint_set), m.lengths * 0.9, atol=1e-9)
