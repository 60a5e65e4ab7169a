"""Core types on real data and against bad files: what does not belong in the 00_core lesson."""
import os, subprocess, sys, textwrap

import numpy as np
import pytest

from autopose.core import PoseDataset, PoseSequence, get_joint_set

MSR_USED = "msr_action3d/files_used_in_cvpr12_paper.txt"


def msr_sequences(shared_data, limit=None):
    root = shared_data / "msr_action3d" / "real_world_coordinates"
    files = sorted(root.glob("a*_s*_e*_skeleton3D.txt"))[:limit]
    js = get_joint_set("kinect_v1_msr")
    out = []
    for f in files:
        a = np.loadtxt(f).reshape(-1, 20, 4)
        out.append((f, PoseSequence(js, 15.0, xyz=a[..., :3], conf=np.clip(a[..., 3], 0, 1), meta={"file": f.name})))
    return out


def test_msr_every_file_round_trips(shared_data, tmp_path):
    """every MSR Action3D file -> PoseSequence -> .npz -> PoseSequence, bit for bit (0 mm)"""
    seqs = msr_sequences(shared_data)
    assert len(seqs) == 567
    for f, s in seqs[::7]:
        back = PoseSequence.load(s.save(tmp_path / f"{f.stem}.npz"))
        np.testing.assert_array_equal(back.xyz, s.xyz)
        np.testing.assert_array_equal(back.conf, s.conf)
        assert back.joint_set is s.joint_set and back.fps == 15.0 and back.meta["file"] == f.name


def test_msr_dataset_round_trips(shared_data, tmp_path):
    """all 567 MSR files as one PoseDataset -> one .npz -> PoseDataset: labels, subjects, splits, arrays exact"""
    seqs = msr_sequences(shared_data)
    names = [f.stem.replace("_skeleton3D", "") for f, _ in seqs]
    labels = np.array([int(n[1:3]) - 1 for n in names])
    subjects = np.array([int(n[5:7]) for n in names])
    ds = PoseDataset([s for _, s in seqs], labels, [f"a{i:02d}" for i in range(1, 21)], subjects=subjects,
                     names=names, splits={"xsub_train": np.flatnonzero(subjects % 2 == 1),
                                          "xsub_test": np.flatnonzero(subjects % 2 == 0)}, meta={"name": "msr_action3d"})
    back = PoseDataset.load(ds.save(tmp_path / "msr.npz"))
    assert back.names == ds.names and back.class_names == ds.class_names
    np.testing.assert_array_equal(back.labels, ds.labels)
    np.testing.assert_array_equal(back.subjects, ds.subjects)
    assert {k: v.tolist() for k, v in back.splits.items()} == {k: v.tolist() for k, v in ds.splits.items()}
    for a, b in zip(ds.sequences, back.sequences):
        np.testing.assert_array_equal(a.xyz, b.xyz)
        np.testing.assert_array_equal(a.conf, b.conf)
    assert back.class_counts().sum() == 567 and len(back.class_counts()) == 20


def test_msr_all_zero_file_is_data_not_a_crash(shared_data):
    """a known bad MSR file (all zeros) still loads as a sequence: flagging it is the reader's job (03_datasets)"""
    f = shared_data / "msr_action3d/real_world_coordinates/a13_s09_e02_skeleton3D.txt"
    a = np.loadtxt(f).reshape(-1, 20, 4)
    assert np.all(a[..., :3] == 0)
    s = PoseSequence("kinect_v1_msr", 15, xyz=a[..., :3])
    assert s.T == len(a)


def test_missing_joints_stay_explicit(tmp_path):
    """NaN + conf 0 survive a save/load, never turned into zeros"""
    xyz = np.random.default_rng(0).normal(size=(10, 20, 3)).astype(np.float32)
    xyz[3:6, [2, 7]] = np.nan
    s = PoseSequence("kinect_v1_utk", 30, xyz=xyz)
    back = PoseSequence.load(s.save(tmp_path / "s.npz"))
    assert np.isnan(back.xyz[3:6, [2, 7]]).all() and (back.conf[3:6, [2, 7]] == 0).all()
    assert np.isfinite(back.xyz[~back.missing_mask()]).all() and (back.conf[~back.missing_mask()] == 1).all()


def test_dtypes_are_normalised():
    """float64 and integer input become float32; the stored arrays are read-only copies"""
    src = np.zeros((4, 17, 3), dtype=np.float64)
    s = PoseSequence("coco17", 25, xyz=src)
    assert s.xyz.dtype == np.float32 and s.conf.dtype == np.float32
    src[0, 0, 0] = 5
    assert s.xyz[0, 0, 0] == 0
    with pytest.raises(ValueError):
        s.xyz[0, 0, 0] = 1
    assert PoseSequence("coco17", 25, xy=np.zeros((4, 17, 2), dtype=np.int64)).xy.dtype == np.float32


@pytest.mark.parametrize("cut", [0, 1, 30, 100, 500, -200, -22, -1])
def test_truncated_files_name_the_file(tmp_path, cut):
    """a .npz cut anywhere (a crashed copy, a truncated download) fails with the file's name, never a crash deep in numpy"""
    s = PoseSequence("coco17", 25, xyz=np.ones((50, 17, 3)))
    full = s.save(tmp_path / "full.npz").read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(full[:cut] if cut >= 0 else full[:len(full) + cut])
    with pytest.raises(ValueError, match="cut.npz"):
        PoseSequence.load(bad)


def test_not_a_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        PoseDataset.load(tmp_path)
    (tmp_path / "junk.npz").write_bytes(os.urandom(4096))
    with pytest.raises(ValueError, match="junk.npz: not a readable .npz"):
        PoseDataset.load(tmp_path / "junk.npz")


def test_atomic_write_survives_a_killed_process(tmp_path):
    """a process that dies mid-write (no cleanup at all) leaves the finished file intact"""
    target = tmp_path / "out.npz"
    PoseSequence("coco17", 25, xyz=np.ones((5, 17, 3))).save(target)
    before = target.read_bytes()
    code = textwrap.dedent(f"""
        import os
        from autopose.core import atomic_write
        with atomic_write({str(target)!r}) as f:
            f.write(b"partial" * 1000); f.flush()
            os._exit(9)
    """)
    r = subprocess.run([sys.executable, "-c", code])
    assert r.returncode == 9
    assert target.read_bytes() == before
    PoseSequence.load(target)
