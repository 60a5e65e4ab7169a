"""Choose how the Kinect v1 refiner is trained, on validation data only: never on the subjects bench/refine.py tests on.

    python bench/tune_refiner_kinect.py [--causal] [--steps 5000] [--seeds 3] [--jobs 2] [--candidates NAME ...] [--out F]

Leave-one-subject-out over MSR Action3D's five training subjects (1, 3, 5, 7, 9): each candidate (a setting of
`autopose.learned.train_refiner`) is trained on four of them and scored on the fifth's clips (every clip of at
least 32 frames with every joint seen) with the noise presets of autopose.refine, against every setting of
bench/refine.py's filter grids scored on the same clips (the best filter by MPJPE and the best by acceleration
error: an oracle on the held-out subject). A candidate wins a (subject, preset) cell when it beats both. The
chosen candidate wins the most cells; among those, it has the lowest mean ratio to the best filter (MPJPE and
acceleration error, every cell). It is then trained on all five training subjects by
`python -m autopose.refine train --msr` (autopose.learned.SENSOR_MODELS holds it) and tested once by
bench/refine.py on subjects 2, 4, 6, 8, 10.

The candidates vary the training noise: the subjects' recordings jitter differently (mean |second difference|
14 to 25 mm/frame² among the training subjects), so the refiner may need to see smaller added noise and
jitterier targets than the training subjects alone give. The band limit and the acceleration weight come from
the first round (one held-out subject, 9; its table is in this file's git history, commit 3870e1f): no band
limit, acceleration weight 6.
With --causal, the same for the causal model against the causal filters: candidates vary the weight of the
acceleration term over the package's causal setting before it was told the noise (UNTOLD_CAUSAL in bench/tune_refiner_mocap.py).
Third round: a candidate trained with noise_cond=True is told the noise it must remove (the preset's
NoiseProfile, `smooth_learned(noise=...)`), as the filters' settings are chosen per preset; it sees jitter
from 0.5 mm, jitterier targets and jitter correlated over frames up to 0.95 (the 'mediapipe' preset's 0.9
is inside).
Writes bench/results/refiner_kinect_tuning.md, with --causal refiner_kinect_tuning_causal.md (and prints it);
--candidates runs some of them only (give --out then, not to overwrite a round's table). The third round ran
the told candidates beside the previous choices:
    python bench/tune_refiner_kinect.py --candidates "first round's choice" "told the noise" --out bench/results/refiner_kinect_tuning_told.md
    python bench/tune_refiner_kinect.py --causal --candidates "accel 0.5" "accel 0.5, told the noise" --out bench/results/refiner_kinect_tuning_causal_told.md
"""
import sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from refine import SHARED, Group, msr_clips  # noqa: E402
from tune_refiner_mocap import UNTOLD_CAUSAL, UNTOLD_OFFLINE, oracle, tuning_args, versus  # noqa: E402

from autopose.learned import TOLD_NOISE, RandomProfile  # noqa: E402

BASE = dict(cutoff_hz=None, accel_weight=6.0)
CANDIDATES = {  # name -> train_refiner arguments over the package's offline model as it was before it was told the noise
    "first round's choice": BASE,
    "noise from 0.5 mm": dict(BASE, noise=RandomProfile(min_jitter=0.0005)),
    "jitterier targets (up to 10 mm)": dict(BASE, target_jitter=0.01),
    "both": dict(BASE, noise=RandomProfile(min_jitter=0.0005), target_jitter=0.01),
    "told the noise": dict(BASE, noise_cond=True, noise=TOLD_NOISE, target_jitter=0.01),
}
CAUSAL_CANDIDATES = {  # name -> train_refiner arguments over the package's causal model before it was told (UNTOLD_CAUSAL)
    "accel 0.5": dict(accel_weight=0.5),
    "package (accel 1)": {},
    "accel 2": dict(accel_weight=2.0),
    "accel 0.5, told the noise": dict(accel_weight=0.5, noise_cond=True, noise=TOLD_NOISE, target_jitter=0.01),
}
SUBJECTS = (1, 3, 5, 7, 9)  # MSR Action3D's cross-subject training subjects
OUT = Path(__file__).parent / "results" / "refiner_kinect_tuning.md"
OUT_CAUSAL = Path(__file__).parent / "results" / "refiner_kinect_tuning_causal.md"
DECIDED_BY = {  # the round whose choice autopose.learned.SENSOR_MODELS holds, per model (the third round ran with --candidates)
    "offline": Path(__file__).parent / "results" / "refiner_kinect_tuning_told.md",
    "causal": Path(__file__).parent / "results" / "refiner_kinect_tuning_causal_told.md",
}


def base(kind):
    "The settings the candidates vary: the package's offline or causal model as it was before bench/tune_refiner_mocap.py told it the noise."
    return UNTOLD_OFFLINE if kind == "offline" else UNTOLD_CAUSAL


def subjects(ds, keep):
    return ds.subset(np.flatnonzero(np.isin(ds.subjects, keep)))


def training_subjects():
    from autopose.datasets import load_msr_action3d
    return load_msr_action3d(SHARED / "msr_action3d").split("xsub_train")


def train_one(name, held_out, steps, causal=False):
    import torch
    from autopose import learned as L
    torch.set_num_threads(1)
    clips, fps, _ = L.recording_clips(subjects(training_subjects(), [s for s in SUBJECTS if s != held_out]), seed=0)
    kind, cands = ("causal", CAUSAL_CANDIDATES) if causal else ("offline", CANDIDATES)
    return L.train_refiner(clips, fps, steps=steps, device="cpu", log=None, **dict(base(kind), **cands[name]))


def main():
    a, cands, out, causal = tuning_args(__doc__, {"offline": (CANDIDATES, OUT), "causal": (CAUSAL_CANDIDATES, OUT_CAUSAL)})
    from autopose import learned as L, refine as R
    t0, ds = time.time(), training_subjects()
    head = [machine(), f"settings: {'causal, ' if causal else ''}steps {a.steps}, seeds {a.seeds}, leave one subject out of {SUBJECTS}, "
                       f"candidates: {', '.join(cands)}"]
    print("\n".join(head), flush=True)
    jobs = [(name, s) for s in SUBJECTS for name in cands]
    with ProcessPoolExecutor(a.jobs) as ex:
        models = dict(zip(jobs, ex.map(train_one, *zip(*jobs), [a.steps] * len(jobs), [causal] * len(jobs))))
    seeds = tuple(range(a.seeds))
    lines = head + ["", "| held out | clips | preset | best filter MPJPE (setting) | best filter accel (setting) | " + " | ".join(cands) + " |",
                    "|---|---:|---|---|---|" + "---|" * len(cands)]
    wins, ratios = dict.fromkeys(cands, 0), {k: [] for k in cands}
    for s in SUBJECTS:
        val = Group(f"subject {s}", msr_clips(subjects(ds, [s])), 15.0, 1.0, 1000)
        for preset in R.NOISE_PRESETS:
            bm, ba = oracle(val, preset, seeds, causal)
            cells = []
            for name in cands:
                m = models[name, s]
                told = preset if cands[name].get("noise_cond") else None   # the noise, to a model trained to be told it
                r = val.score(lambda x, m=m: L.smooth_learned(x, 15.0, m, causal=causal, device="cpu", noise=told), preset, seeds, causal)
                ok, rs, cell = versus(r, bm, ba)
                wins[name] += ok; ratios[name] += rs; cells.append(cell)
            lines.append(f"| {s} | {len(val.clips)} | {preset} | {bm[1][0]:.1f} ({bm[0]}) | {ba[1][2]:.2f} ({ba[0]}) | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    n = len(SUBJECTS) * len(R.NOISE_PRESETS)
    lines += ["", "MPJPE mm / acceleration error mm/frame², pooled over the held-out subject's joint-frames.", "",
              "Cells won (better than the best filter on both): " + "; ".join(f"{k}: {v}/{n}" for k, v in wins.items()),
              "", "Mean ratio to the best filter: " + "; ".join(f"{k}: {np.mean(v):.4f}" for k, v in ratios.items()), "",
              f"{time.time() - t0:.0f} s", "", "Chosen: " + min(cands, key=lambda k: (-wins[k], np.mean(ratios[k])))]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-9:]))


if __name__ == "__main__":
    main()
