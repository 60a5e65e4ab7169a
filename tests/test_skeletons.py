"""Joint sets and joint maps: batteries over every pair of registered sets, and the registered orders on real data."""
import itertools

import numpy as np
import pytest
import torch

from autopose.core import PoseSequence, get_joint_set
from autopose.skeletons import (CMU_BVH31, DERIVATIONS, JOINT_SETS, VOCABULARY, canonical_names, convert, joint_map,
                                named_map)

NAMES = [js.name for js in JOINT_SETS]


def try_map(a, b):
    try: return joint_map(a, b)
    except ValueError: return None


MAPPABLE = [(a, b) for a, b in itertools.product(NAMES, NAMES) if try_map(a, b) is not None]
KINECT_V1 = ["kinect_v1_msr", "kinect_v1_utk", "kinect_v1_utd"]
NEEDED = ([(a, b) for a in KINECT_V1 for b in KINECT_V1 + ["ntu25"] if a != b] + [("ntu25", k) for k in KINECT_V1]
          + [("mediapipe33", d) for d in ["coco17", "h36m17", "smpl22", "ntu25"] + KINECT_V1]
          + [("coco17", "h36m17"), ("smpl24", "smpl22"), ("smpl22", "smpl24"), ("smpl22", "h36m17"), ("h36m17", "smpl22")]
          + [("cmu_bvh31", d) for d in ["smpl22", "h36m17", "ntu25"] + KINECT_V1])


def side(js):
    "+1 for the left member of a pair, -1 for the right one, 0 on the midline: (J,)"
    s = np.zeros(len(js), int)
    for l, r in js.lr_pairs: s[l], s[r] = 1, -1
    return s


def exact_copies(m):
    "{dst index: src index} for the destination joints that are copies of the source joint of the same vocabulary name"
    cs, cd = canonical_names(m.src), canonical_names(m.dst)
    return {d: s[0] for d, (s, w) in enumerate(zip(m.sources, m.weights))
            if len(s) == 1 and w[0] == 1 and cs[s[0]] == cd[d] and m.dst.joints[d] not in m.approx}


def tree_path(js, a, b):
    "the joints on the tree path from a to b, both included"
    up = lambda j: [j] + (up(js.parents[j]) if js.parents[j] >= 0 else [])
    pa, pb = up(a), up(b)
    common = next(j for j in pa if j in pb)
    return pa[:pa.index(common) + 1] + pb[:pb.index(common)][::-1]


# ---------------------------------------------------------------- every registered set

@pytest.mark.parametrize("name", NAMES)
def test_set_is_a_tree_with_paired_sides(name):
    """a valid tree; every left_/right_ joint paired with its partner; mirror an involution swapping left_* and right_*"""
    js = get_joint_set(name)
    assert js.parents.count(-1) == 1 and len(js.bones) == len(js) - 1
    assert all(0 <= p < len(js) for p in js.parents if p != -1)
    assert js.description
    can = canonical_names(js)
    assert len(set(can)) == len(can) and all(c in VOCABULARY for c in can)
    pairs = {(can[l], can[r]) for l, r in js.lr_pairs}
    sided = [c for c in can if c.startswith(("left_", "right_"))]
    assert len(sided) == 2 * len(js.lr_pairs)
    assert pairs == {(c, "right_" + c[5:]) for c in sided if c.startswith("left_")}
    m = js.mirror
    np.testing.assert_array_equal(m[m], np.arange(len(js)))
    for j, c in enumerate(can):
        want = "right_" + c[5:] if c.startswith("left_") else "left_" + c[6:] if c.startswith("right_") else c
        assert can[m[j]] == want


def test_kinect_v1_orders_differ_but_share_one_tree():
    """the three Kinect v1 orders are different permutations of the same 20 named joints and bones"""
    sets = [get_joint_set(n) for n in KINECT_V1]
    assert len({js.joints for js in sets}) == 3
    assert len({frozenset(js.joints) for js in sets}) == 1
    bones = lambda js: {(js.joints[c], js.joints[p]) for c, p in js.bones}
    assert bones(sets[0]) == bones(sets[1]) == bones(sets[2])
    assert set(get_joint_set("ntu25").joints) >= set(sets[0].joints)


def test_every_needed_map_exists():
    """every map the pipeline needs can be built"""
    missing = [p for p in NEEDED if p not in MAPPABLE]
    assert not missing, missing
    assert len(MAPPABLE) > len(NEEDED)


def test_derivations_are_written_once_per_side():
    """each left_ recipe has its mirrored right_ twin; ingredients and targets are vocabulary names"""
    for k, alts in DERIVATIONS.items():
        assert k in VOCABULARY and all(n in VOCABULARY for ing, _ in alts for n in ing)
        if k.startswith("left_"):
            twin = DERIVATIONS["right_" + k[5:]]
            assert [set(i) for i, _ in twin] == [{("right_" + n[5:]) if n.startswith("left_") else n for n in i} for i, _ in alts]


# ---------------------------------------------------------------- every pair that maps

@pytest.mark.parametrize("src,dst", MAPPABLE)
def test_weights_sum_to_one(src, dst):
    """each destination joint is a weighted average of source joints: weights sum to 1"""
    m = joint_map(src, dst)
    np.testing.assert_allclose(m.matrix.sum(1), 1, atol=1e-12)
    assert m.matrix.shape == (len(m.dst), len(m.src))
    assert set(m.approx) <= set(m.dst.joints)


@pytest.mark.parametrize("src,dst", MAPPABLE)
def test_bones_map_to_bones(src, dst):
    """a destination bone between two copied joints joins source joints linked by a path of joints not copied into dst"""
    m = joint_map(src, dst)
    copies = exact_copies(m)
    copied = set(copies.values())
    checked = 0
    for c, p in m.dst.bones:
        if c in copies and p in copies:
            inner = tree_path(m.src, copies[c], copies[p])[1:-1]
            assert not copied & set(inner), (m.dst.joints[c], m.dst.joints[p], [m.src.joints[j] for j in inner])
            checked += 1
    if src == dst: assert checked == len(m.dst.bones)


@pytest.mark.parametrize("src,dst", MAPPABLE)
def test_left_stays_left(src, dst):
    """a left joint draws on left and midline joints only, a right one on right and midline; the midline on both alike"""
    m = joint_map(src, dst)
    ss, sd, W = side(m.src), side(m.dst), m.matrix
    for d in range(len(m.dst)):
        used = np.flatnonzero(W[d])
        if sd[d] != 0: assert not (ss[used] == -sd[d]).any(), (m.dst.joints[d], [m.src.joints[j] for j in used])
        else: np.testing.assert_array_equal(W[d], W[d][m.src.mirror])


@pytest.mark.parametrize("src,dst", MAPPABLE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mapping_commutes_with_mirroring_exactly(src, dst, dtype):
    """map(x mirrored) == map(x) mirrored, bit for bit, on random x of any batch shape"""
    m = joint_map(src, dst)
    rng = np.random.default_rng(len(src) * 31 + len(dst))
    for batch in [(), (7,), (2, 3)]:
        x = rng.normal(size=batch + (len(m.src), 3)).astype(dtype)
        y = m(x)
        assert y.shape == batch + (len(m.dst), 3) and y.dtype == dtype
        np.testing.assert_array_equal(m(x[..., m.src.mirror, :]), y[..., m.dst.mirror, :])


@pytest.mark.parametrize("src,dst", MAPPABLE)
def test_map_is_its_matrix_and_nan_propagates(src, dst):
    """the gather equals the dense matrix product; a NaN source makes exactly the joints built from it NaN; torch = numpy"""
    m = joint_map(src, dst)
    x = np.random.default_rng(5).normal(size=(len(m.src), len(m.src), 2))
    np.testing.assert_allclose(m(x), np.einsum("dj,tjc->tdc", m.matrix, x), rtol=1e-12, atol=1e-12)
    x[np.arange(len(m.src)), np.arange(len(m.src))] = np.nan       # frame t loses source joint t
    np.testing.assert_array_equal(np.isnan(m(x)).any(-1), (m.matrix != 0).T)
    np.testing.assert_array_equal(m(torch.from_numpy(x)).numpy(), m(x))


def test_round_trips_through_supersets_are_exact():
    """A -> B -> A reproduces x bit for bit whenever B holds every joint of A (Kinect v1 orders, ntu25, SMPL)"""
    trips = [(a, b) for a, b in MAPPABLE if a != b and (b, a) in MAPPABLE
             and len(exact_copies(joint_map(a, b))) == len(get_joint_set(a))]
    want = [(a, b) for a in KINECT_V1 for b in KINECT_V1 + ["ntu25"] if a != b] + [("smpl22", "smpl24")]
    assert set(want) <= set(trips), set(want) - set(trips)
    rng = np.random.default_rng(0)
    for a, b in trips:
        x = rng.normal(size=(9, len(get_joint_set(a)), 3)).astype(np.float32)
        np.testing.assert_array_equal(joint_map(b, a)(joint_map(a, b)(x)), x)


def test_coco_is_a_selection_of_mediapipe():
    """mediapipe33 -> coco17 copies all 17 joints, and going through coco17 to h36m17 changes nothing"""
    m = joint_map("mediapipe33", "coco17", allow_approx=False)
    assert len(exact_copies(m)) == 17 and not m.approx
    assert get_joint_set("mediapipe33").indices(get_joint_set("coco17").joints).tolist() == [s[0] for s in m.sources]
    x = np.random.default_rng(1).normal(size=(4, 33, 3))
    np.testing.assert_allclose(joint_map("coco17", "h36m17")(m(x)), joint_map("mediapipe33", "h36m17")(x), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="cannot produce 16 of 33 joints of 'mediapipe33'"): joint_map("coco17", "mediapipe33")


@pytest.mark.parametrize("src,dst,names", [
    ("h36m17", "coco17", "nose, left_eye, right_eye, left_ear, right_ear"),
    ("smpl22", "coco17", "nose, left_eye, right_eye, left_ear, right_ear"),
    ("ntu25", "mediapipe33", "nose, left_eye_inner, left_eye"),
    ("coco17", "cmu_bvh31", "LHipJoint"),
])
def test_unmappable_joints_are_named(src, dst, names):
    with pytest.raises(ValueError, match=f"joint_map\\('{src}' -> '{dst}'\\): cannot produce .*{names}"): joint_map(src, dst)


@pytest.mark.parametrize("src,dst", [p for p in NEEDED if joint_map(*p).approx])
def test_refused_approximations_are_named(src, dst):
    approx = list(joint_map(src, dst).approx)
    with pytest.raises(ValueError, match=f"{len(approx)} of \\d+ joints would be approximations: {', '.join(approx)} "):
        joint_map(src, dst, allow_approx=False)


def test_convert_keeps_xy_conf_and_provenance():
    """2D and 3D mapped alike; conf the minimum over the sources; meta says where it came from"""
    rng = np.random.default_rng(2)
    xyz, xy = rng.normal(size=(4, 33, 3)), rng.uniform(0, 500, size=(4, 33, 2))
    xy[3, 11] = np.nan
    conf = np.where(np.isnan(xy[..., 0]), 0, rng.uniform(0.1, 1, size=(4, 33)))
    xyz[3, 11] = np.nan
    s = PoseSequence("mediapipe33", 30, xyz=xyz, xy=xy, conf=conf, image_size=(640, 480))
    h = convert(s, "h36m17")
    m = joint_map("mediapipe33", "h36m17")
    np.testing.assert_allclose(h.xy, m(s.xy), rtol=1e-6)
    thorax = h.joint_set.index("thorax")
    np.testing.assert_array_equal(h.conf[:3, thorax], np.minimum(s.conf[:3, 11], s.conf[:3, 12]))
    assert h.conf[3, thorax] == 0 and np.isnan(h.xy[3, thorax]).all() and h.image_size == (640, 480)
    assert h.meta["joint_map"] == {"from": "mediapipe33", "approx": dict(m.approx)}
    with pytest.raises(ValueError, match="allow_approx=False"): convert(s, "h36m17", allow_approx=False)


# ---------------------------------------------------------------- the registered orders on real bodies

def read_ntu(path):
    "the first body of an NTU .skeleton file: (T, 25, 3) metres"
    lines, frames, i = path.read_text().split("\n"), [], 1
    for _ in range(int(lines[0])):
        n, i = int(lines[i]), i + 1
        for b in range(n):
            k = int(lines[i + 1]); joints = [lines[i + 2 + j].split()[:3] for j in range(k)]; i += 2 + k
            if b == 0: frames.append(np.array(joints, float))
    return np.stack(frames)


def real_bodies(shared_data):
    msr = np.loadtxt(shared_data / "msr_action3d/real_world_coordinates/a01_s01_e01_skeleton3D.txt").reshape(-1, 20, 4)[..., :3]
    utk = np.loadtxt(shared_data / "utkinect/joints/joints_s01_e01.txt")[:, 1:].reshape(-1, 20, 3)
    ntu = read_ntu(shared_data / "ntu_video/S001C001P001R001A001.skeleton")
    return {"kinect_v1_msr": msr, "kinect_v1_utk": utk, "ntu25": ntu}


@pytest.mark.parametrize("name", ["kinect_v1_msr", "kinect_v1_utk", "ntu25"])
def test_registered_order_fits_real_bodies(shared_data, name):
    """left joints on the person's left (up x toes, right-handed); plausible bone lengths along the declared bones; head above hips"""
    x, js = real_bodies(shared_data)[name], get_joint_set(name)
    j = js.index
    up = x[:, j("head_center")] - x[:, j("spine_base")]
    toes = x[:, [j("left_foot"), j("right_foot")]].mean(1) - x[:, [j("left_ankle"), j("right_ankle")]].mean(1)
    left = np.cross(up, toes)
    # in the NTU clip the person drinks: the hands meet in front of the chest and cross the midline
    skip = ("wrist", "hand", "hand_tip", "thumb_tip") if name == "ntu25" else ()
    checked = 0
    for l, r in js.lr_pairs:
        if js.joints[l][5:] in skip: continue
        assert np.mean(np.einsum("tc,tc->t", x[:, l] - x[:, r], left) > 0) > 0.8, (js.joints[l], js.joints[r])
        checked += 1
    assert checked == len(js.lr_pairs) - len(skip)
    length = {(js.joints[c], js.joints[p]): np.median(np.linalg.norm(x[:, c] - x[:, p], axis=-1)) for c, p in js.bones}
    # MSR Action3D's tracker places the hips high and wide (0.28-0.43 m apart), so its hip->knee runs 0.49-0.63 m
    # (5th-95th percentile over its 567 files), longer than a femur
    thigh_max = 0.65 if name == "kinect_v1_msr" else 0.55
    for s in ("left", "right"):
        assert 0.30 < length[(f"{s}_knee", f"{s}_hip")] < thigh_max
        assert 0.25 < length[(f"{s}_ankle", f"{s}_knee")] < 0.50
        assert 0.20 < length[(f"{s}_elbow", f"{s}_shoulder")] < 0.40
        assert 0.15 < length[(f"{s}_wrist", f"{s}_elbow")] < 0.35
    assert all(0.02 < v < 0.6 for v in length.values()), length
    assert np.median(up[:, 1]) > 0.4 and np.mean(up[:, 1] > 0) > 0.95


def test_msr_through_ntu_into_utk_keeps_bone_lengths(shared_data):
    """MSR -> ntu25 -> kinect_v1_utk: every bone of the UTKinect tree has exactly its MSR length"""
    x = real_bodies(shared_data)["kinect_v1_msr"]
    msr, utk = get_joint_set("kinect_v1_msr"), get_joint_set("kinect_v1_utk")
    y = joint_map("ntu25", "kinect_v1_utk")(joint_map("kinect_v1_msr", "ntu25")(x))
    for c, p in utk.bones:
        a, b = msr.index(utk.joints[c]), msr.index(utk.joints[p])
        np.testing.assert_array_equal(np.linalg.norm(y[:, c] - y[:, p], axis=-1), np.linalg.norm(x[:, a] - x[:, b], axis=-1))


def bvh_hierarchy(path):
    "joint names, parents and offsets (CMU units) from a BVH HIERARCHY"
    names, parents, offsets, stack, last = [], [], [], [], None
    for line in path.read_text().splitlines():
        t = line.split()
        if not t: continue
        if t[0] == "MOTION": break
        if t[0] in ("ROOT", "JOINT"):
            names.append(t[1]); parents.append(stack[-1] if stack else -1); last = len(names) - 1
        elif t[0] == "End": last = None
        elif t[0] == "OFFSET" and last is not None and len(offsets) == last: offsets.append([float(v) for v in t[1:4]])
        elif t[0] == "{": stack.append(last)
        elif t[0] == "}": stack.pop()
    return names, parents, np.array(offsets)


@pytest.mark.parametrize("clip", ["131_01", "131_02", "131_03"])
def test_cmu_hierarchy_is_the_files(shared_data, clip):
    """cmu_bvh31's names and parents are those of the BVH files; its zero-offset joints are the ones named *_cmu that sit on their parent"""
    names, parents, offsets = bvh_hierarchy(shared_data / f"cmu_bvh/{clip}.bvh")
    assert tuple(names) == CMU_BVH31.joints and tuple(parents) == CMU_BVH31.parents
    zero = {n for n, o in zip(names, offsets) if not np.any(o)} - {"Hips"}
    assert zero == {"LHipJoint", "RHipJoint", "lowerback", "lowerneck", "LeftCollar", "RightCollar", "lhand", "rhand", "LThumb", "RThumb"}


def test_synthda_map_reproduces_synthda(shared_data):
    """synthda_h36m17_to_smpl22 turns SynthDa's H36M files into its 22-joint files to 1e-6"""
    m, d = named_map("synthda_h36m17_to_smpl22"), shared_data / "synthda_reference"
    for h36m, smpl in [("real_real/output_keypoints_3d_test_video_1.npz", "real_real/output_keypoints_3d_real1.npy"),
                       ("real_real/output_keypoints_3d_test_video_2.npz", "real_real/output_keypoints_3d_real2.npy"),
                       ("real_synth/output_keypoints_3d.npz", "real_synth/output_keypoints_3d.npy")]:
        x, want = np.load(d / h36m)["reconstruction"], np.load(d / smpl)
        assert x.shape[1:] == (17, 3) and want.shape == (len(x), 22, 3)
        np.testing.assert_allclose(m(x), want, rtol=0, atol=1e-6)


def torso_heights(x, js, names):
    "median height of each joint along the hips'-midpoint (t=0) -> shoulders'-midpoint (t=1) line: {name: t}"
    j = js.index
    hip = (x[:, j("left_hip")] + x[:, j("right_hip")]) / 2
    axis = (x[:, j("left_shoulder")] + x[:, j("right_shoulder")]) / 2 - hip
    L2 = np.einsum("tc,tc->t", axis, axis)
    return {n: float(np.median(np.einsum("tc,tc->t", x[:, j(n)] - hip, axis) / L2)) for n in names}


def test_measured_placements_stated_in_the_vocabulary(shared_data):
    """the torso heights t the vocabulary and the recipe notes quote are what the data shows (to their 2 decimals)"""
    bodies = real_bodies(shared_data)
    utk = np.concatenate([np.loadtxt(f)[:, 1:].reshape(-1, 20, 3) for f in sorted((shared_data / "utkinect/joints").glob("joints_s*.txt"))])
    msr = np.concatenate([np.loadtxt(f).reshape(-1, 20, 4)[..., :3] for f in sorted((shared_data / "msr_action3d/real_world_coordinates").glob("a*.txt"))])
    d = shared_data / "synthda_reference"
    h36m = np.concatenate([np.load(d / f"real_real/output_keypoints_3d_test_video_{i}.npz")["reconstruction"] for i in (1, 2)])
    smpl = np.load(d / "real_synth/gen_motion_00_L108_00_a.npy")
    names, parents, offsets = bvh_hierarchy(shared_data / "cmu_bvh/131_01.bvh")
    rest = np.zeros_like(offsets)
    for i, p in enumerate(parents): rest[i] = offsets[i] + (rest[p] if p >= 0 else 0)
    cmu = rest[None, [names.index(n) for n in CMU_BVH31.joints]]
    claims = [
        (bodies["ntu25"], "ntu25", {"spine_base": -0.02, "spine_mid": 0.62, "spine_shoulder": 1.10, "neck": 1.25, "head_center": 1.52}),
        (utk[~np.isnan(utk).any((1, 2))], "kinect_v1_utk", {"spine_base": 0.20, "spine_mid": 0.37, "spine_shoulder": 1.26, "head_center": 1.75}),
        (msr[np.abs(msr).sum((1, 2)) > 0], "kinect_v1_msr", {"spine_base": 0.04, "spine_mid": 0.64, "spine_shoulder": 1.11, "head_center": 1.75}),
        (h36m, "h36m17", {"spine": 0.55, "thorax": 1.12, "neck_nose": 1.28, "head_top": 1.50}),
        (smpl, "smpl22", {"pelvis": 0.18, "spine1": 0.42, "spine2": 0.70, "spine3": 0.80, "neck": 1.23, "head": 1.36, "left_collar": 1.03}),
        (cmu, "cmu_bvh31", {"Hips": 0.24, "Chest": 0.52, "Chest2": 0.80, "Neck": 1.03, "Head": 1.25}),
    ]
    for x, name, want in claims:
        got = torso_heights(x, get_joint_set(name) if name != "cmu_bvh31" else _cmu_view(), want)
        for k, v in want.items(): assert abs(got[k] - v) <= 0.015, (name, k, got[k], v)
    mid = (h36m[:, 1] + h36m[:, 4]) / 2
    assert np.abs(h36m[:, 0] - mid).max() < 0.01      # Human3.6M's root is the hips' midpoint


def _cmu_view():
    "cmu_bvh31 with the limb joints reachable by their vocabulary names (for torso_heights)"
    class View:
        def index(self, n):
            can = canonical_names(CMU_BVH31)
            return can.index(n) if n in can else CMU_BVH31.index(n)
    return View()
