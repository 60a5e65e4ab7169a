"""Every filter against the learned refiner on noisy versions of held-out real sequences.

    python bench/refine.py [--seeds 3] [--msr 40] [--repeat 3] [--weights data/refiner.pt] [--kinect-weights data/refiner_kinect_v1.pt]

Test sequences, none of them used to train the refiner (data/refiner.json lists what the 'mocap' weights were
trained on: procedural motion and CMU 131_01 / 131_02; data/refiner_kinect_v1.json what the 'kinect_v1' weights
were: MSR Action3D's cross-subject training subjects 1, 3, 5, 7, 9):
  * CMU 131_03 (a hop; clean optical mocap) subsampled from 120 fps to 60, 30 and 15 fps, in 3D (metres) and
    through a fixed camera in 2D (pixels). Ground truth: the mocap itself.
  * Kinect recordings: the NTU RGB+D clip (Kinect v2, 30 fps, 3D and the Kinect's own 2D joints in the colour
    image) and MSR Action3D's cross-subject test split (Kinect v1, 15 fps, 3D; the clips of at least 32 frames
    in which every joint is seen at least once, `--msr` of them spread evenly). Ground truth: the Kinect
    recording itself, which is noisy too (a few mm; see the notebook's table), so there the numbers say how
    close each method stays to the recording after noise is added, and smoothing away the Kinect's own
    jitter counts as error.
Noise: the presets of autopose.refine.NOISE_PRESETS (kinect, video, mediapipe, heavy: jitter, spikes, dropouts),
`--seeds` draws per sequence. Gaps are bridged by fill_gaps first, the same input for every method.
Filters are tuned, not guessed: for each filter, noise preset, test group (frame rate, 2D/3D), every setting of a grid is
scored on validation data (noisy CMU 131_01 and procedural clips at that frame rate: the mocap refiner's own
training data) and the best by MPJPE and the best by acceleration error are both run on the test sequences.
For the MSR Action3D group (Kinect v1) the filters are also tuned on Kinect v1 validation data (`--msr` clips of
MSR's training subjects: the Kinect v1 refiner's own training data), and the best filter of either tuning counts.
The learned refiner has no per-case setting, except that weights trained to be told the noise
(SmoothNet(noise_cond=True)) are told the preset's NoiseProfile (`smooth_learned(noise=preset)`), as the filters'
settings are chosen per preset: their row says ", told the noise", and a row ", not told" shows them without it.
Each group has one declared weight set, the one for its sensor:
'kinect_v1' for MSR Action3D, 'mocap' (the package's default) for everything else, the NTU clip included (no
Kinect v2 recordings are there to train on). The verdict uses that set (told the noise, when it takes it); the
table shows both sets on every group.
MPJPE and PA-MPJPE in mm (px for 2D), acceleration error in mm/frame^2 (px/frame^2), pooled over every joint-frame
of a group. Throughput in joint-frames per second.
"""
import argparse, functools, itertools, sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import best_of, machine  # noqa: E402
from autopose import learned as L, refine as R  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILTERS = ("moving_average", "gaussian", "savgol", "one_euro")


def grid(name, fps, causal, unit, max_window):
    "(label, function) for every setting tried; `unit`: body size relative to an adult in metres (one-euro's beta); windows <= max_window."
    if name == "moving_average":
        for w in ((2, 3, 4, 5, 7) if causal else (3, 5, 7, 9, 11, 15, 21)):
            yield f"window={w}", lambda x, w=w: R.moving_average(x, w, causal=causal)
    elif name == "gaussian":
        for s in ((0.5, 0.75, 1, 1.5, 2, 3) if causal else (0.5, 1, 1.5, 2, 3, 4, 5, 6)):
            yield f"sigma={s}", lambda x, s=s: R.gaussian(x, s, causal=causal)
    elif name == "savgol":
        opts = ((5, 1), (7, 1), (9, 1), (13, 1), (7, 2), (9, 2), (13, 2), (17, 2)) if causal else \
               ((5, 2), (7, 2), (9, 2), (11, 2), (15, 2), (21, 2), (9, 3), (15, 3), (21, 3), (31, 3), (41, 3))
        for w, p in opts:
            if w > max_window and not causal: continue
            yield f"window={w},polyorder={p}", lambda x, w=w, p=p: R.savgol(x, w, p, causal=causal)
    else:
        for mc, b in itertools.product((0.25, 0.5, 1, 2, 4, 8), (0, 0.1, 1, 10)):
            yield f"min_cutoff={mc},beta={b}", lambda x, mc=mc, b=b: R.one_euro(x, fps, mc, b / unit, causal=causal)


def metrics(y, gt):
    return np.array([R.mpjpe(y, gt), R.pa_mpjpe(y, gt), R.accel_error(y, gt)])


def noisy_inputs(gt, preset, seeds, causal, unit):
    "Gap-filled noisy copies of gt (bridging every gap, causally when the method is causal)."
    out = []
    for s in seeds:
        x = R.add_noise(gt, R.NOISE_PRESETS[preset].scaled(unit), rng=s)
        out.append(R.fill_gaps(R.fill_gaps(x, len(x), causal=causal), len(x)))
    return out


class Group:
    "Test (or validation) sequences of one frame rate and one kind (3D metres or 2D pixels)."
    def __init__(self, name, clips, fps, unit, scale):
        self.name, self.clips, self.fps, self.unit, self.scale = name, clips, fps, unit, scale  # scale: to mm or px
        self._noisy = {}                                  # (preset, seeds, causal) -> the noisy inputs, made once

    @property
    def weights(self): return declared_weights(self.name)   # the package weights for the group's sensor

    def score(self, f, preset, seeds, causal):
        "Pooled (MPJPE, PA-MPJPE, accel) of f over every clip and seed, weighted by joint-frames."
        key = (preset, tuple(seeds), causal)
        if key not in self._noisy: self._noisy[key] = [noisy_inputs(gt, preset, seeds, causal, self.unit) for gt in self.clips]
        tot, n = np.zeros(3), 0
        for gt, xs in zip(self.clips, self._noisy[key]):
            for x in xs:
                w = np.isfinite(gt).all(-1).sum()
                tot += metrics(f(x), gt) * w; n += w
        return tot / n * self.scale


def camera_2d(xyz):
    "A fixed camera 4 m in front of the clip's centre, 1000 px focal length: (T, J, 2) pixels."
    p = xyz - np.nanmean(xyz.reshape(-1, 3), 0) + [0, 0, 4.0]
    return np.stack([1000 * p[..., 0] / p[..., 2] + 960, -1000 * p[..., 1] / p[..., 2] + 540], -1)


def test_groups(n_msr):
    from autopose.bvh import read_bvh
    from autopose.datasets import load_msr_action3d
    from autopose.ntu import read_ntu_skeleton
    hop = read_bvh(SHARED / "cmu_bvh" / "131_03.bvh").to_sequence().xyz.astype(np.float64)
    ntu = read_ntu_skeleton(SHARED / "ntu_video" / "S001C001P001R001A001.skeleton").to_sequence()
    msr = load_msr_action3d(SHARED / "msr_action3d").split("xsub_test")
    px = lambda a: float(np.median(L.body_spread(R.fill_gaps(a, len(a))))) / L.REFERENCE_SPREAD
    groups = [Group(f"CMU 131_03 3D {120 // k} fps", [hop[::k]], 120 / k, 1.0, 1000) for k in (2, 4, 8)]
    groups.append(Group("CMU 131_03 2D 30 fps", [camera_2d(hop[::4])], 30.0, px(camera_2d(hop[::4])), 1))
    groups.append(Group("NTU Kinect v2 3D 30 fps", [ntu.xyz.astype(np.float64)], 30.0, 1.0, 1000))
    groups.append(Group("NTU Kinect v2 2D 30 fps", [ntu.xy.astype(np.float64)], 30.0, px(ntu.xy.astype(np.float64)), 1))
    clips = msr_clips(msr, n_msr)
    groups.append(Group(f"MSR Action3D test 3D 15 fps ({len(clips)} seqs)", clips, 15.0, 1.0, 1000))
    return groups


def msr_clips(ds, n=None):
    "The clips of at least 32 frames in which every joint is seen at least once; n of them spread evenly (None: all)."
    ok = [s.xyz.astype(np.float64) for s in ds.sequences if s.T >= 32 and not np.isnan(s.xyz).all(0).any()]
    if n is None: return ok
    return [ok[i] for i in np.linspace(0, len(ok) - 1, min(n, len(ok))).round().astype(int)]


@functools.lru_cache(maxsize=None)
def kinect_v1_validation(n_msr):
    "Validation data for the Kinect v1 group: MSR Action3D's training subjects (never tested on), n_msr clips spread evenly."
    from autopose.datasets import load_msr_action3d
    train = load_msr_action3d(SHARED / "msr_action3d").split("xsub_train")
    return Group("validation (MSR Action3D training subjects)", msr_clips(train, n_msr), 15.0, 1.0, 1000)


def validation_group(test):
    "Validation data for tuning the filters for `test`: noisy CMU 131_01 and procedural clips at its frame rate and kind."
    return _validation(test.fps, "2D" in test.name, test.scale)


@functools.lru_cache(maxsize=None)                        # one per frame rate and kind, shared by every preset and mode
def _validation(fps, is2d, scale):
    from autopose.bvh import read_bvh
    from autopose.testing import ACTIONS, procedural_motion, random_subject
    walk = read_bvh(SHARED / "cmu_bvh" / "131_01.bvh").to_sequence().xyz.astype(np.float64)
    g = np.random.default_rng(1)
    clips = [walk[::max(1, round(120 / fps))]]
    clips += [procedural_motion(a, subject=random_subject(g), joint_set="ntu25", fps=fps, duration=4.0, rng=i).xyz.astype(np.float64)
              for i, a in enumerate(ACTIONS)]
    if is2d: clips = [camera_2d(c) for c in clips]
    unit = float(np.median(L.body_spread(clips[0]))) / L.REFERENCE_SPREAD if is2d else 1.0
    return Group("validation", clips, fps, unit, scale)


def validations(test, n_msr):
    "(label, validation group) for tuning the filters for `test`: mocap always, and the sensor's own recordings where there are any."
    out = [("mocap val", validation_group(test))]
    if test.weights == "kinect_v1": out.append(("Kinect v1 val", kinect_v1_validation(n_msr)))
    return out


def tune(test, val, preset, causal, seeds):
    "For each filter: the setting best by MPJPE and the one best by accel error on the validation data `val`."
    best = {}
    longest = min(len(c) for c in test.clips + val.clips)
    for name in FILTERS:
        scores = [(label, f, val.score(f, preset, seeds, causal)) for label, f in grid(name, test.fps, causal, test.unit, longest)]
        best[name, "MPJPE"] = min(scores, key=lambda s: s[2][0])[:2]
        best[name, "accel"] = min(scores, key=lambda s: s[2][2])[:2]
    return best


LEARNED = {"mocap": "learned, mocap weights", "kinect_v1": "learned, Kinect v1 weights"}
TOLD, NOT_TOLD = ", told the noise", ", not told"   # the rows of weights that take the noise (told the preset's, and not)
KINECT_V1_GROUPS = ("MSR Action3D",)  # test groups (by the start of their name) that get the Kinect v1 weights; the rest: mocap


def declared_weights(group_name):
    "The weight set declared for a test group: its sensor's (Kinect v1 for MSR Action3D), else the mocap weights."
    return "kinect_v1" if group_name.startswith(KINECT_V1_GROUPS) else "mocap"


def verdict_row(rows, weights):
    "The row that the verdict reads for a group's declared weights: told the noise when they take it."
    return LEARNED[weights] + TOLD if LEARNED[weights] + TOLD in rows else LEARNED[weights]


def compare(groups, preset, causal, seeds, weights, n_msr):
    "Rows (method, tuned-for, setting) -> per-group metrics; `weights`: weight set name -> .pt."
    models = {k: L.load_refiner(w, causal=causal) for k, w in weights.items()}
    rows = {}
    for gi, grp in enumerate(groups):
        rows.setdefault(("noisy input (gap-filled)", "", ""), {})[gi] = grp.score(lambda x: x, preset, seeds, causal)
        for vlabel, val in validations(grp, n_msr):
            for (name, crit), (label, f) in tune(grp, val, preset, causal, seeds=(101,)).items():
                rows.setdefault((name, f"{crit} ({vlabel})", ""), {})[gi] = (grp.score(f, preset, seeds, causal), label)
        for k, m in models.items():
            for suffix, told in (((TOLD, preset), (NOT_TOLD, None)) if m.noise_cond else (("", None),)):
                learned = lambda x, m=m, told=told: L.smooth_learned(x, grp.fps, m, causal=causal, device="cpu", noise=told)
                rows.setdefault((LEARNED[k] + suffix, "", ""), {})[gi] = grp.score(learned, preset, seeds, causal)
    return rows


def print_table(groups, rows, preset, causal):
    print(f"\n### {'causal' if causal else 'offline'}, noise preset '{preset}'\n")
    print("| method | tuned for | " + " | ".join(f"{g.name}: MPJPE / PA-MPJPE / accel" for g in groups) + " |")
    print("|---|---|" + "---:|" * len(groups))
    order = sorted(rows, key=lambda k: (k[0].startswith("learned"), k[0] != "noisy input (gap-filled)"))  # input, filters, learned
    for name, crit, _ in order:
        per, cells = rows[name, crit, _], []
        for gi in range(len(groups)):
            if gi not in per: cells.append("–"); continue
            v = per[gi]
            m, label = (v if isinstance(v, tuple) else (v, ""))
            cells.append(f"{m[0]:.1f} / {m[1]:.1f} / {m[2]:.2f}" + (f" ({label})" if label else ""))
        print(f"| {name} | {crit} | " + " | ".join(cells) + " |")
    wins = []
    names = {n for n, _, _ in rows}
    for gi, g in enumerate(groups):
        row = verdict_row(names, g.weights)
        lm = rows[(row, "", "")][gi]
        filt = [per[gi][0] for (n, c, _), per in rows.items() if n in FILTERS and gi in per]
        bm, ba = min(f[0] for f in filt), min(f[2] for f in filt)
        ok = lm[0] < bm and lm[2] < ba
        wins.append(ok)
        told = " told the noise" if row.endswith(TOLD) else ""
        print(f"- {g.name}: learned ({g.weights} weights{told}) MPJPE {lm[0]:.1f} vs best filter {bm:.1f}; accel {lm[2]:.2f} vs best filter {ba:.2f} -> "
              f"{'learned better on both' if ok else 'NOT better on both'}")
        if told:   # the same weights not told: shown, not counted
            nm = rows[(LEARNED[g.weights] + NOT_TOLD, "", "")][gi]
            print(f"  - not told the noise: MPJPE {nm[0]:.1f}, accel {nm[2]:.2f} -> {'better on both' if nm[0] < bm and nm[2] < ba else 'NOT better on both'}")
    return wins


def throughput(repeat, weights):
    rng = np.random.default_rng(0)
    T, J = 3000, 25
    x = np.cumsum(rng.normal(size=(T, J, 3)), 0) * 0.01 + rng.normal(size=(T, J, 3)) * 0.01
    off, cau = L.load_refiner(weights), L.load_refiner(weights, causal=True)
    cases = [("moving_average window=9", lambda: R.moving_average(x, 9)),
             ("moving_average window=5 causal", lambda: R.moving_average(x, 5, causal=True)),
             ("gaussian sigma=2", lambda: R.gaussian(x, 2.0)),
             ("gaussian sigma=1 causal", lambda: R.gaussian(x, 1.0, causal=True)),
             ("savgol 9/2", lambda: R.savgol(x, 9, 2)),
             ("savgol 9/1 causal", lambda: R.savgol(x, 9, 1, causal=True)),
             ("one_euro (causal, scan)", lambda: R.one_euro(x, 30, 1.0, 0.5)),
             ("one_euro forward-backward", lambda: R.one_euro(x, 30, 1.0, 0.5, causal=False)),
             ("fill_gaps max_gap=10", lambda: R.fill_gaps(x, 10)),
             ("learned offline stride 1", lambda: L.smooth_learned(x, 30, off, device="cpu")),
             ("learned offline stride 4", lambda: L.smooth_learned(x, 30, off, stride=4, device="cpu")),
             ("learned causal", lambda: L.smooth_learned(x, 30, cau, causal=True, device="cpu"))]
    print(f"\n### Throughput (T={T}, J={J}, 3D, CPU, best of {repeat})\n\n| method | joint-frames/s |\n|---|---:|")
    for name, f in cases:
        print(f"| {name} | {T * J / best_of(f, repeat):,.0f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="noise draws per test sequence")
    ap.add_argument("--msr", type=int, default=40, help="MSR Action3D test sequences used (evenly spread)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--presets", nargs="*", default=list(R.NOISE_PRESETS))
    ap.add_argument("--weights", default=None, help="the mocap refiner weights (default: the package's, data/refiner.pt)")
    ap.add_argument("--kinect-weights", default=None, help="the Kinect v1 refiner weights (default: the package's, data/refiner_kinect_v1.pt)")
    ap.add_argument("--no-causal", action="store_true")
    a = ap.parse_args()
    print(machine())
    weights = {"mocap": a.weights or L.default_refiner_path("mocap"), "kinect_v1": a.kinect_weights or L.default_refiner_path("kinect_v1")}
    for k, w in weights.items(): print(f"weights {k}: {w} ({Path(w).stat().st_size / 1024:.0f} KB)")
    if not SHARED.is_dir(): sys.exit(f"missing {SHARED}: the benchmark needs the shared real data")
    groups, seeds = test_groups(a.msr), tuple(range(a.seeds))
    print("test groups: " + "; ".join(f"{g.name} ({sum(len(c) for c in g.clips)} frames)" for g in groups))
    verdict = {}
    for causal in ((False,) if a.no_causal else (False, True)):
        for preset in a.presets:
            rows = compare(groups, preset, causal, seeds, weights, a.msr)
            verdict[causal, preset] = print_table(groups, rows, preset, causal)
    print("\n### Verdict: learned better than the best tuned filter on both MPJPE and accel error\n")
    kinds = {"clean mocap ground truth": [i for i, g in enumerate(groups) if g.name.startswith("CMU")],
             "Kinect v2 recording as ground truth (mocap weights)": [i for i, g in enumerate(groups) if g.name.startswith("NTU")],
             "Kinect v1 recordings as ground truth (Kinect v1 weights)": [i for i, g in enumerate(groups) if g.weights == "kinect_v1"]}
    for (causal, preset), wins in verdict.items():
        print(f"- {'causal' if causal else 'offline'} {preset}: " +
              "; ".join(f"{k} {sum(wins[i] for i in ix)}/{len(ix)} groups" for k, ix in kinds.items()))
    throughput(a.repeat, weights["mocap"])


if __name__ == "__main__":
    main()
