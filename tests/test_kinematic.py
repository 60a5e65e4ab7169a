"""autopose.kinematic: the on-the-fly re-posing in bone space, on every joint set, on real clips and on bad input."""
import numpy as np
import pytest

import autopose
from autopose.core import get_joint_set, joint_set_names
from autopose.kinematic import Compose, KinematicAugment, _slow_drift, temporal_crop, time_warp
from autopose.recognize import ClassicAugment, build_model, fit, prepare_clips
from autopose.testing import procedural_dataset

OFF = dict(segment=0, height=None, angle_deg=0, amplitude=None, yaw_deg=0, crop=None, warp=0)


def _lengths(x, js):
    return np.linalg.norm(x[:, :, js.bones[:, 0]] - x[:, :, js.bones[:, 1]], axis=-1)        # (B, T, bones)


def _batch(js, B=5, T=12, seed=0):
    "clips with rigid bones: random bone directions and lengths, the root wandering"
    rng = np.random.default_rng(seed); J = len(js)
    L = rng.uniform(0.05, 0.5, (B, 1, J, 1))
    d = rng.normal(size=(B, T, J, 3)); d /= np.linalg.norm(d, axis=-1, keepdims=True)
    x = np.zeros((B, T, J, 3)); x[:, :, js.root] = np.cumsum(rng.normal(0, 0.02, (B, T, 3)), 1)
    for j in js.order:
        p = js.parents[j]
        if p >= 0: x[:, :, j] = x[:, :, p] + L[:, :, j] * d[:, :, j]
    return x


@pytest.mark.parametrize("name", joint_set_names())
def test_every_joint_set_rigid_symmetric_and_bounded(name):
    """on every registered skeleton: finite float32 of the input's shape; each bone's length constant over the clip and within
    [(1 - segment) * height_lo, (1 + segment) * height_hi] of the input's; a left bone and its right partner scaled alike"""
    js = get_joint_set(name); x = _batch(js)
    aug = KinematicAugment(name, segment=0.2, height=(0.8, 1.25), yaw_deg=0, crop=None, warp=0)
    y = aug(x, np.random.default_rng(1))
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    Lx, Ly = _lengths(x, js), _lengths(y.astype(np.float64), js)
    assert Ly.std(1).max() < 1e-5                                           # metres: rigid to 0.01 mm
    f = Ly.mean(1) / Lx.mean(1)
    assert f.min() >= 0.8 * 0.8 - 1e-5 and f.max() <= 1.2 * 1.25 + 1e-5
    assert f.std() > 0.02                                                   # it does change the body
    col = {int(c): i for i, c in enumerate(js.bones[:, 0])}
    pairs = [(col[l], col[r]) for l, r in js.lr_pairs if l in col and r in col]
    for l, r in pairs: np.testing.assert_allclose(f[:, l], f[:, r], rtol=1e-5)
    np.testing.assert_allclose(y[:, :, js.root], x[:, :, js.root], atol=1e-6)   # the root's path is kept


@pytest.mark.parametrize("name", joint_set_names())
def test_time_warp_on_every_joint_set(name):
    """the timing alone (the default warp, everything else off), on every skeleton: the root follows time_warp of the input
    with the generator's first draw, keeping its first and last frames; the bones stay rigid; the frames between move"""
    js = get_joint_set(name); x = _batch(js, T=16, seed=4)
    aug = KinematicAugment(name, **(OFF | dict(warp=KinematicAugment(name).warp)))
    y = aug(x, np.random.default_rng(7)).astype(np.float64)
    log_speed = _slow_drift(np.random.default_rng(7), len(x), x.shape[1], ()) * aug.warp
    np.testing.assert_allclose(y[:, :, js.root], time_warp(x, log_speed)[:, :, js.root], atol=1e-6)
    np.testing.assert_allclose(y[:, [0, -1], js.root], x[:, [0, -1], js.root], atol=1e-6)
    assert np.abs(y[:, 1:-1, js.root] - x[:, 1:-1, js.root]).max() > 1e-3
    assert _lengths(y, js).std(1).max() < 1e-5


@pytest.mark.parametrize("name", ["kinect_v1_msr", "smpl22", "h36m17"])
def test_all_off_is_the_identity_on_rigid_clips(name):
    """every variation off: a clip with rigid bones comes back unchanged (float32 rounding only)"""
    js = get_joint_set(name); x = _batch(js, seed=2)
    np.testing.assert_allclose(KinematicAugment(name, **OFF)(x, np.random.default_rng(0)), x, atol=2e-6)


def test_each_variation_does_what_it_says():
    """amplitude widens and narrows the swing about each bone's mean direction; the view turns about y; the crop is temporal_crop"""
    js = get_joint_set("kinect_v1_msr"); x = _batch(js, B=3, T=20, seed=3)

    def spread(z):
        b = z[:, :, js.bones[:, 0]] - z[:, :, js.bones[:, 1]]; d = b / np.linalg.norm(b, axis=-1, keepdims=True)
        m = d.mean(1, keepdims=True); m /= np.linalg.norm(m, axis=-1, keepdims=True)
        return np.degrees(np.arccos(np.clip((d * m).sum(-1), -1, 1))).mean()
    wide = KinematicAugment(js, **(OFF | dict(amplitude=(1.3, 1.3))))(x, np.random.default_rng(0))
    narrow = KinematicAugment(js, **(OFF | dict(amplitude=(0.7, 0.7))))(x, np.random.default_rng(0))
    assert spread(narrow) < spread(x) < spread(wide)
    v = KinematicAugment(js, **(OFF | dict(yaw_deg=180)))(x, np.random.default_rng(4))
    np.testing.assert_allclose(v[..., 1], x[..., 1], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(v[..., [0, 2]], axis=-1), np.linalg.norm(x[..., [0, 2]], axis=-1), atol=1e-5)
    assert np.abs(v - x).max() > 0.05
    c = KinematicAugment(js, **(OFF | dict(crop=(0.5, 0.5))))(x, np.random.default_rng(5))
    r = np.random.default_rng(5)
    cropped = temporal_crop(x, r.uniform(0.5, 0.5, 3), r.uniform(0, 1, 3))          # then bones back to their mean lengths
    np.testing.assert_allclose(c, KinematicAugment(js, **OFF)(cropped, r), atol=1e-5)
    still = np.repeat(x[:, :1], 20, axis=1)                               # a held pose: what the angle noise adds is all there is
    a = KinematicAugment(js, **(OFF | dict(angle_deg=10)))(still, np.random.default_rng(6))
    assert np.abs(np.diff(a, axis=1)).mean() < 0.3 * np.abs(a - still).mean()   # a slow drift, not a per-frame jitter


def test_deterministic_and_two_frames():
    """one generator state, one batch; clips of 2 frames work"""
    js = get_joint_set("ntu25"); x = _batch(js, T=2, seed=4)
    aug = KinematicAugment(js)
    np.testing.assert_array_equal(aug(x, np.random.default_rng(9)), aug(x, np.random.default_rng(9)))
    assert not np.array_equal(aug(x, np.random.default_rng(9)), aug(x, np.random.default_rng(10)))


def test_real_msr_clips(shared_data):
    """MSR Action3D's Kinect clips as a recognizer sees them: bones made rigid (the Kinect's jitter is several mm), left = right,
    joints moved by centimetres, not metres"""
    from autopose.datasets import load_dataset
    ds = load_dataset("msr_action3d", shared_data / "msr_action3d")
    js = ds.joint_set; X = prepare_clips(ds.sequences[::20]).astype(np.float64)
    Y = KinematicAugment(js)(X, np.random.default_rng(0)).astype(np.float64)
    assert _lengths(X, js).std(1).mean() > 1e-3 and _lengths(Y, js).std(1).max() < 1e-5
    moved = np.median(np.linalg.norm(Y - X, axis=-1))
    assert 0.02 < moved < 0.3, moved


def test_bad_input_is_refused_clearly():
    js = get_joint_set("kinect_v1_msr"); aug = KinematicAugment(js); x = _batch(js)
    with pytest.raises(ValueError, match=r"KinematicAugment\(kinect_v1_msr\): expected a batch \(B, T, J, 3\) with J=20 and T >= 2, got shape \(5, 12, 25, 3\)"):
        aug(_batch(get_joint_set("ntu25")), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"got shape \(5, 1, 20, 3\)"): aug(x[:, :1], np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"got shape \(12, 20, 3\)"): aug(x[0], np.random.default_rng(0))
    bad = x.copy(); bad[1, 2, 3, 0] = np.nan; bad[0, 0, 0, 1] = np.inf
    with pytest.raises(ValueError, match="expected finite joints .* got 2 non-finite joint-frames"): aug(bad, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng: expected a numpy.random.Generator"): aug(x, 0)
    for kw, msg in ((dict(segment=-0.1), "segment: expected 0 <= segment < 1"), (dict(segment=1.0), "segment"),
                    (dict(height=(1.1, 0.9)), "height: expected"), (dict(height=(0, 1)), "height: expected"),
                    (dict(amplitude=(1,)), "amplitude: expected"), (dict(angle_deg=-1), "expected angle_deg >= 0"),
                    (dict(yaw_deg=-5), "yaw_deg >= 0"), (dict(crop=(0, 1)), "crop: expected"), (dict(crop=(0.9, 1.2)), "crop: expected")):
        with pytest.raises(ValueError, match=msg): KinematicAugment(js, **kw)
    with pytest.raises(KeyError, match="no_such_skeleton"): KinematicAugment("no_such_skeleton")
    with pytest.raises(ValueError, match="Compose: expected one or more callables"): Compose(aug, None)


def test_trains_a_recognizer_and_is_top_level():
    """as fit's transform, alone and composed with the classic augmentation: finite losses; autopose.KinematicAugment is the class"""
    ds = procedural_dataset(seed=0, joint_set="kinect_v1_msr", n_subjects=2, max_per_class=2, imbalance=1.0, noise_std=0.0)
    X = prepare_clips(ds, T=16)
    js = ds.joint_set
    for tf in (KinematicAugment(js), Compose(KinematicAugment(js, yaw_deg=0, crop=None), ClassicAugment())):
        losses = fit(build_model("tcn", js, ds.num_classes, seed=0), X, ds.labels, steps=3, batch_size=8, transform=tf, device="cpu")
        assert len(losses) == 3 and np.isfinite(losses).all()
    assert autopose.KinematicAugment is KinematicAugment and "KinematicAugment" in dir(autopose)
