"""Batteries for autopose.testing: every action on every joint set, joint limits over many seeds,
the fake SMPL / SMPL-X files in smplx, and the procedural dataset through save/load.
"""
import os

import numpy as np
import pytest

from autopose.core import PoseDataset, get_joint_set, joint_set_names
from autopose.testing import (ACTIONS, PROCEDURAL_BODY, procedural_dataset, procedural_kinematics,
                              procedural_motion, random_subject, rest_pose, write_fake_smpl, write_fake_smplx)

_i = PROCEDURAL_BODY.index


def _smplx():
    "The smplx package; a reported skip where it is absent, a failure in CI."
    try:
        import smplx
    except ImportError:
        if os.environ.get("CI") == "true": pytest.fail("smplx is not installed (CI requires smplx==0.1.28)")
        pytest.skip("smplx not installed (pip install smplx==0.1.28)")
    return smplx


# --- every action on every registered joint set --------------------------------------------------

@pytest.mark.parametrize("joint_set", joint_set_names())
def test_all_actions_on_every_joint_set(joint_set):
    js = get_joint_set(joint_set)
    for k, action in enumerate(ACTIONS):
        seq = procedural_motion(action, subject=random_subject(k), joint_set=joint_set, rng=k, place=True)
        assert seq.joint_set == js
        assert seq.xyz.shape == (seq.T, len(js), 3) and seq.T >= 30, (action, seq.xyz.shape)
        assert np.isfinite(seq.xyz).all() and (seq.conf == 1).all()
        assert seq.meta["procedural"] is True and seq.meta["action"] == action and seq.meta["seed"] == k
        bones = np.linalg.norm(seq.xyz[:, js.bones[:, 0]] - seq.xyz[:, js.bones[:, 1]], axis=-1).astype(np.float64)
        assert np.ptp(bones, axis=0).max() < 2e-6, f"{action} on {joint_set}: bone lengths vary"   # metres


def test_procedural_body_is_the_vocabulary_and_maps_exactly():
    from autopose.skeletons import VOCABULARY, joint_map
    assert set(PROCEDURAL_BODY.joints) == set(VOCABULARY) and len(PROCEDURAL_BODY) == len(VOCABULARY)
    for name in joint_set_names():
        m = joint_map("procedural_body", name, allow_approx=False)     # raises on any approximation
        assert all(len(s) == 1 for s in m.sources)


# --- joint limits: knees and elbows never hyperextend ---------------------------------------------

def _signed_flexion(glob, pos, parent, joint, child, rest):
    """The signed angle (deg) from the bone joint->child's rest direction to its direction now, both in the
    parent's frame, about the frame's x axis (the person's left); and how far the bone left the y-z plane."""
    v = np.einsum("tji,tj->ti", glob[:, parent], pos[:, child] - pos[:, joint])        # R_parent^T (child - joint)
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    r = (rest[child] - rest[joint]) / np.linalg.norm(rest[child] - rest[joint])
    ang = np.degrees(np.arctan2(np.cross(r, v)[:, 0], v @ r))
    return ang, np.abs(v[:, 0] - r[0]).max()                                            # a hinge: x unchanged


@pytest.mark.parametrize("action", ACTIONS)
def test_knees_and_elbows_never_hyperextend(action):
    """knee: flexion moves the shank backwards (+x rotation) in the thigh's frame, 0..150 deg;
    elbow: flexion moves the forearm forwards (-x rotation) in the upper arm's frame, 0..150 deg."""
    for seed in range(12):
        subject = random_subject(100 + seed)
        m = procedural_kinematics(action, subject=subject, rng=seed)
        rest = rest_pose(subject)
        for side in ("left", "right"):
            knee, res_k = _signed_flexion(m.global_rotmats, m.positions, _i(f"{side}_hip"), _i(f"{side}_knee"), _i(f"{side}_ankle"), rest)
            elbow, res_e = _signed_flexion(m.global_rotmats, m.positions, _i(f"{side}_shoulder"), _i(f"{side}_elbow"), _i(f"{side}_wrist"), rest)
            assert res_k < 1e-9 and res_e < 1e-9                                  # pure hinges
            assert knee.min() > -1e-6 and knee.max() < 150 + 1e-6, (action, seed, side, knee.min(), knee.max())
            assert -elbow.min() < 150 + 1e-6 and -elbow.max() > -1e-6, (action, seed, side, elbow.min(), elbow.max())
            # the same from positions alone: the angle between the bone vectors stays within the limit
            P = m.positions
            a = P[:, _i(f"{side}_knee")] - P[:, _i(f"{side}_hip")]; b = P[:, _i(f"{side}_ankle")] - P[:, _i(f"{side}_knee")]
            cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
            assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 152


def test_feet_on_the_floor_over_many_seeds():
    for action in ACTIONS:
        for seed in range(8):
            P = procedural_kinematics(action, subject=random_subject(seed), rng=seed).positions
            feet = P[:, [_i(f"{s}_{p}") for s in ("left", "right") for p in ("heel", "foot", "foot_index", "ankle")], 1]
            assert feet.min() > -0.01, (action, seed, feet.min())                   # never below the floor by > 1 cm
            if action != "jump": assert np.abs(feet.min(1)).max() < 1e-9            # and always touching it


# --- fake body-model files in smplx --------------------------------------------------------------

def test_fake_smplx_loads_and_runs(tmp_path):
    smplx = _smplx()
    import torch
    path = write_fake_smplx(tmp_path / "smplx" / "SMPLX_NEUTRAL.npz")             # the full v1.1 layout: 300 + 100
    z = np.load(path, allow_pickle=True)
    assert z["shapedirs"].shape == (10475, 3, 400) and z["shapedirs"].dtype == np.float64
    model = smplx.create(str(tmp_path), model_type="smplx", gender="neutral", batch_size=2, use_pca=False, flat_hand_mean=True)
    out = model(return_verts=True)
    assert tuple(out.vertices.shape) == (2, 10475, 3) and tuple(out.joints.shape) == (2, 127, 3)
    np.testing.assert_allclose(out.joints[0, :55].detach().numpy(), z["J_regressor"] @ z["v_template"], atol=1e-5)
    betas = torch.zeros(2, 10); betas[1, 0] = 2.0
    out = model(betas=betas, body_pose=torch.full((2, 63), 0.1))
    h = out.vertices[:, :, 1].max(1).values - out.vertices[:, :, 1].min(1).values
    assert torch.isfinite(out.vertices).all() and h[1] > h[0] * 1.05                  # beta 0 scales the body
    contour = smplx.SMPLX(model_path=str(path), use_face_contour=True, num_betas=10, num_expression_coeffs=10)
    assert tuple(contour().joints.shape) == (1, 144, 3)


def test_fake_smplx_compact_layout_and_genders(tmp_path):
    smplx = _smplx()
    for gender in ("male", "female"):
        path = write_fake_smplx(tmp_path / f"SMPLX_{gender.upper()}.npz", gender=gender, num_betas=10, num_expression_coeffs=10)
        model = smplx.SMPLX(model_path=str(path), gender=gender, use_pca=True, num_pca_comps=6)
        out = model()
        assert tuple(out.vertices.shape) == (1, 10475, 3)


def test_fake_smpl_loads_and_runs(tmp_path):
    smplx = _smplx()
    import pickle, torch
    path = write_fake_smpl(tmp_path / "smpl" / "SMPL_NEUTRAL.pkl")
    with open(path, "rb") as f: d = pickle.load(f)
    model = smplx.create(str(tmp_path), model_type="smpl", gender="neutral", batch_size=3)
    out = model(body_pose=torch.randn(3, 69, generator=torch.Generator().manual_seed(0)) * 0.3)
    assert tuple(out.vertices.shape) == (3, 6890, 3) and tuple(out.joints.shape) == (3, 45, 3)
    assert torch.isfinite(out.vertices).all()
    rest = smplx.SMPL(model_path=str(path))().joints[0, :24].detach().numpy()
    np.testing.assert_allclose(rest, d["J"], atol=1e-5)                              # rest joints = J_regressor @ v_template
    # the extra keypoints smplx reads from vertices sit on the procedural landmarks: nose above the pelvis, toes in front
    kp = smplx.SMPL(model_path=str(path))().joints[0].detach().numpy()
    assert kp[24, 1] > rest[15, 1] - 0.05 and kp[24, 2] > rest[15, 2]               # nose (first extra joint)
    assert write_fake_smpl(tmp_path / "SMPL_FEMALE.pkl", gender="female").is_file()


# --- the procedural dataset -----------------------------------------------------------------------

def test_procedural_dataset_round_trip(tmp_path):
    ds = procedural_dataset(3, noise_std=0.01)
    back = PoseDataset.load(ds.save(tmp_path / "procedural.npz"))
    assert back.joint_set.name == "ntu25" and back.names == ds.names and back.class_names == ds.class_names
    np.testing.assert_array_equal(back.labels, ds.labels); np.testing.assert_array_equal(back.subjects, ds.subjects)
    assert {k: v.tolist() for k, v in back.splits.items()} == {k: v.tolist() for k, v in ds.splits.items()}
    assert dict(back.meta)["procedural"] is True and dict(back.meta)["seed"] == 3
    for a, b in zip(ds.sequences, back.sequences):
        np.testing.assert_array_equal(a.xyz, b.xyz)
        assert dict(b.meta)["procedural"] is True and b.fps == a.fps


def test_procedural_dataset_is_deterministic_and_imbalanced():
    a, b = procedural_dataset(7, joint_set="smpl24", n_subjects=3), procedural_dataset(7, joint_set="smpl24", n_subjects=3)
    for x, y in zip(a.sequences, b.sequences): np.testing.assert_array_equal(x.xyz, y.xyz)
    counts = a.class_counts()
    assert counts[0] == 8 and counts[-1] == 2 and (np.diff(counts) <= 0).all()
    assert sorted(set(a.subjects.tolist())) == [1, 2, 3]
    assert set(a.subjects[a.splits["xsub_train"]].tolist()) == {1, 3} and set(a.subjects[a.splits["xsub_test"]].tolist()) == {2}
    heights = {s: v["height"] for s, v in a.meta["subjects"].items()}
    assert len(set(heights.values())) == 3                                             # different bodies
