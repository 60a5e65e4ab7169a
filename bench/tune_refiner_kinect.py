"""Choose how the Kinect v1 refiner is trained, on validation data only: never on the subjects bench/refine.py tests on.

    python bench/tune_refiner_kinect.py [--steps 5000] [--seeds 3] [--jobs 2]

Each candidate (a SmoothNet setting of `autopose.learned.train_refiner`) is trained on MSR Action3D's training
subjects 1, 3, 5, 7 and scored on subject 9's clips (every clip of at least 32 frames with every joint seen) with
the noise presets of autopose.refine, against every setting of bench/refine.py's filter grids scored on the same
clips (the best filter by MPJPE and the best by acceleration error: an oracle on the validation subject). A
candidate wins a preset when it beats both. The chosen candidate wins the most presets; among those, it has the
lowest mean ratio to the best filter (MPJPE and acceleration error, every preset). It is then trained on all five
training subjects by `python -m autopose.refine train --msr` (autopose.learned.SENSOR_MODELS holds it) and tested
once by bench/refine.py on subjects 2, 4, 6, 8, 10.
Writes bench/results/refiner_kinect_tuning.md (and prints it).
"""
import argparse, sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from refine import FILTERS, SHARED, Group, grid, msr_clips  # noqa: E402

CANDIDATES = {  # name -> train_refiner arguments over the package's offline model (autopose.learned.PACKAGE_MODELS)
    "package (7 Hz band limit, accel 3)": {},
    "no band limit, accel 3": dict(cutoff_hz=None),
    "no band limit, accel 6": dict(cutoff_hz=None, accel_weight=6.0),
    "no band limit, accel 10": dict(cutoff_hz=None, accel_weight=10.0),
}
TRAIN, VAL = (1, 3, 5, 7), (9,)
OUT = Path(__file__).parent / "results" / "refiner_kinect_tuning.md"


def subjects(ds, keep):
    return ds.subset(np.flatnonzero(np.isin(ds.subjects, keep)))


def train_one(name, steps):
    import torch
    from autopose import learned as L
    from autopose.datasets import load_msr_action3d
    torch.set_num_threads(1)
    train = subjects(load_msr_action3d(SHARED / "msr_action3d").split("xsub_train"), TRAIN)
    clips, fps, _ = L.recording_clips(train, seed=0)
    return L.train_refiner(clips, fps, steps=steps, device="cpu", log=None, **dict(L.PACKAGE_MODELS["offline"], **CANDIDATES[name]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=3, help="noise draws per validation clip")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    from autopose import learned as L, refine as R
    from autopose.datasets import load_msr_action3d
    head = [machine(), f"settings: steps {a.steps}, seeds {a.seeds}, train subjects {TRAIN}, validation subjects {VAL}"]
    print("\n".join(head), flush=True)
    val = Group("validation", msr_clips(subjects(load_msr_action3d(SHARED / "msr_action3d").split("xsub_train"), VAL)), 15.0, 1.0, 1000)
    with ProcessPoolExecutor(a.jobs) as ex:
        models = dict(zip(CANDIDATES, ex.map(train_one, CANDIDATES, [a.steps] * len(CANDIDATES))))
    seeds = tuple(range(a.seeds))
    lines = head + [f"validation: {len(val.clips)} clips, {sum(map(len, val.clips))} frames", "",
                    "| preset | best filter MPJPE (setting) | best filter accel (setting) | " + " | ".join(CANDIDATES) + " |",
                    "|---|---|---|" + "---|" * len(CANDIDATES)]
    wins, ratios = dict.fromkeys(CANDIDATES, 0), {k: [] for k in CANDIDATES}
    for preset in R.NOISE_PRESETS:
        scores = [(f"{n} {label}", val.score(f, preset, seeds, False)) for n in FILTERS
                  for label, f in grid(n, val.fps, False, 1.0, min(map(len, val.clips)))]
        bm, ba = min(scores, key=lambda s: s[1][0]), min(scores, key=lambda s: s[1][2])
        cells = []
        for name, m in models.items():
            s = val.score(lambda x, m=m: L.smooth_learned(x, 15.0, m, device="cpu"), preset, seeds, False)
            ok = s[0] < bm[1][0] and s[2] < ba[1][2]
            wins[name] += ok
            ratios[name] += [s[0] / bm[1][0], s[2] / ba[1][2]]
            cells.append(f"{s[0]:.1f} / {s[2]:.2f}{' **both**' if ok else ''}")
        lines.append(f"| {preset} | {bm[1][0]:.1f} ({bm[0]}) | {ba[1][2]:.2f} ({ba[0]}) | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    lines += ["", "MPJPE mm / acceleration error mm/frame², pooled over the validation joint-frames.", "",
              "Presets won (better than the best filter on both): " + "; ".join(f"{k}: {v}/{len(R.NOISE_PRESETS)}" for k, v in wins.items()),
              "", "Mean ratio to the best filter: " + "; ".join(f"{k}: {np.mean(v):.4f}" for k, v in ratios.items()), "",
              "Chosen: " + min(CANDIDATES, key=lambda k: (-wins[k], np.mean(ratios[k])))]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-7:]))


if __name__ == "__main__":
    main()
