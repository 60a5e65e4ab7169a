"""Should the mocap refiner be told the noise? Chosen on validation data only: never on what bench/refine.py tests.

    python bench/tune_refiner_mocap.py [--causal] [--steps 5000] [--seeds 3] [--jobs 2] [--candidates NAME ...] [--out F]

The package's mocap weights are trained on procedural motion and CMU 131_01 / 131_02; bench/refine.py tests them
on CMU 131_03 and the NTU clip. Here each candidate is trained on procedural motion and 131_01 alone, and scored
on 131_02 (a walk, never trained on here) at 60, 30 and 15 fps in 3D and at 30 fps in 2D (bench/refine.py's fixed
camera), with the noise presets of autopose.refine, against every setting of bench/refine.py's filter grids scored
on the same clip (the best filter by MPJPE and the best by acceleration error: an oracle on the held-out clip). A
candidate wins a (group, preset) cell when it beats both. The chosen candidate wins the most cells; among those,
it has the lowest mean ratio to the best filter. A candidate trained with noise_cond=True is told the preset's
NoiseProfile (as the filters' settings are chosen per preset) and is also scored not told.
With --causal, the same for the causal model (over its setting before this round, UNTOLD_CAUSAL) against the causal
filters: candidates add being told the noise and vary the weight of the acceleration term.
Writes bench/results/refiner_mocap_tuning.md, with --causal refiner_mocap_tuning_causal.md (and prints it);
--candidates runs some of them only (give --out then, not to overwrite a round's table). A second offline round
asked whether the path not told gains when half the training windows are not told (the package: a quarter); it
does not win more cells, told or not (bench/results/refiner_mocap_tuning_unknown.md):
    python bench/tune_refiner_mocap.py --candidates "told the noise" "told the noise, half the windows not told" --out bench/results/refiner_mocap_tuning_unknown.md
"""
import argparse, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from refine import FILTERS, SHARED, Group, camera_2d, grid  # noqa: E402

from autopose.learned import RandomProfile  # noqa: E402

UNTOLD_OFFLINE = dict(causal=False, cutoff_hz=7.0, batch=1024, accel_weight=3.0)  # PACKAGE_MODELS['offline'] before it was told the noise
UNTOLD_CAUSAL = dict(causal=True, cutoff_hz=None, batch=512, accel_weight=1.0)  # PACKAGE_MODELS['causal'] before this script's causal round
TOLD = dict(noise_cond=True, noise=RandomProfile(max_corr=0.95))  # how a refiner is told the noise (the package offline model is)
CANDIDATES = {  # name -> train_refiner arguments
    "package (not told)": UNTOLD_OFFLINE,
    "told the noise": dict(UNTOLD_OFFLINE, **TOLD),
    "told the noise, half the windows not told": dict(UNTOLD_OFFLINE, **TOLD, unknown_noise=0.5),  # for the untold path
}
CAUSAL_CANDIDATES = {  # name -> train_refiner arguments over UNTOLD_CAUSAL
    "package (accel 1, not told)": {},
    "told the noise": TOLD,
    "accel 3, told the noise": dict(TOLD, accel_weight=3.0),
    "accel 10, told the noise": dict(TOLD, accel_weight=10.0),
}
OUT = Path(__file__).parent / "results" / "refiner_mocap_tuning.md"
OUT_CAUSAL = Path(__file__).parent / "results" / "refiner_mocap_tuning_causal.md"


def train_one(name, steps, causal=False):
    import torch
    from autopose import learned as L
    torch.set_num_threads(1)
    clips, fps, _ = L.refiner_training_clips([SHARED / "cmu_bvh" / "131_01.bvh"])
    kw = dict(UNTOLD_CAUSAL, **CAUSAL_CANDIDATES[name]) if causal else CANDIDATES[name]
    return L.train_refiner(clips, fps, steps=steps, device="cpu", log=None, **kw)


def validation_groups():
    from autopose import learned as L
    from autopose.bvh import read_bvh
    walk = read_bvh(SHARED / "cmu_bvh" / "131_02.bvh").to_sequence().xyz.astype(np.float64)
    px = float(np.median(L.body_spread(camera_2d(walk[::4])))) / L.REFERENCE_SPREAD
    return [Group(f"CMU 131_02 3D {120 // k} fps", [walk[::k]], 120 / k, 1.0, 1000) for k in (2, 4, 8)] + \
           [Group("CMU 131_02 2D 30 fps", [camera_2d(walk[::4])], 30.0, px, 1)]


def tuning_args(doc, rounds, argv=None):
    "The tuning scripts' command line. rounds: {'offline': (candidates, table), 'causal': (...)}; returns the arguments, the candidates to run, the table to write, causal?"
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=3, help="noise draws per validation clip")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--causal", action="store_true", help="tune the causal model against the causal filters")
    ap.add_argument("--candidates", nargs="+", default=None, help="run these candidates only (default: all)")
    ap.add_argument("--out", type=Path, default=None, help="the table to write (default: the round's file under bench/results)")
    a = ap.parse_args(argv)
    cands, out = rounds["causal" if a.causal else "offline"]
    if a.candidates:
        bad = sorted(set(a.candidates) - set(cands))
        if bad: ap.error(f"--candidates: expected names among {sorted(cands)}, got {bad}")
        cands = {k: cands[k] for k in a.candidates}
    return a, cands, a.out or out, a.causal


def oracle(val, preset, seeds, causal):
    "The best setting of bench/refine.py's filter grids on the validation group `val`: (label, scores) by MPJPE and by acceleration error."
    scores = [(f"{n} {lab}", val.score(f, preset, seeds, causal)) for n in FILTERS
              for lab, f in grid(n, val.fps, causal, val.unit, min(map(len, val.clips)))]
    return min(scores, key=lambda v: v[1][0]), min(scores, key=lambda v: v[1][2])


def versus(r, bm, ba):
    "A candidate's scores `r` against the oracle's two: (better on both?, its two ratios to them, the table cell)."
    ok = r[0] < bm[1][0] and r[2] < ba[1][2]
    return ok, [r[0] / bm[1][0], r[2] / ba[1][2]], f"{r[0]:.1f} / {r[2]:.2f}{' **both**' if ok else ''}"


def main():
    a, cands, out, causal = tuning_args(__doc__, {"offline": (CANDIDATES, OUT), "causal": (CAUSAL_CANDIDATES, OUT_CAUSAL)})
    from autopose import learned as L, refine as R
    t0 = time.time()
    head = [machine(), f"settings: {'causal, ' if causal else ''}steps {a.steps}, seeds {a.seeds}, trained on procedural motion + CMU 131_01, "
                       f"scored on CMU 131_02"]
    print("\n".join(head), flush=True)
    with ProcessPoolExecutor(a.jobs) as ex:
        models = dict(zip(cands, ex.map(train_one, cands, [a.steps] * len(cands), [causal] * len(cands))))
    runs = [(n, told) for n in cands for told in ((True, False) if cands[n].get("noise_cond") else (False,))]
    label = lambda n, told: n + (", told" if told else ", not told" if cands[n].get("noise_cond") else "")
    seeds = tuple(range(a.seeds))
    lines = head + ["", "| group | preset | best filter MPJPE (setting) | best filter accel (setting) | " + " | ".join(label(*r) for r in runs) + " |",
                    "|---|---|---|---|" + "---|" * len(runs)]
    wins, ratios = {r: 0 for r in runs}, {r: [] for r in runs}
    for val in validation_groups():
        for preset in R.NOISE_PRESETS:
            bm, ba = oracle(val, preset, seeds, causal)
            cells = []
            for name, told in runs:
                m = models[name]
                r = val.score(lambda x, m=m, t=told: L.smooth_learned(x, val.fps, m, causal=causal, device="cpu", noise=preset if t else None),
                              preset, seeds, causal)
                ok, rs, cell = versus(r, bm, ba)
                wins[name, told] += ok; ratios[name, told] += rs; cells.append(cell)
            lines.append(f"| {val.name} | {preset} | {bm[1][0]:.1f} ({bm[0]}) | {ba[1][2]:.2f} ({ba[0]}) | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    n = 4 * len(R.NOISE_PRESETS)
    best = min(runs, key=lambda r: (-wins[r], np.mean(ratios[r])))
    lines += ["", "MPJPE mm (px in 2D) / acceleration error mm/frame² (px/frame²), pooled over the clip's joint-frames.", "",
              "Cells won (better than the best filter on both): " + "; ".join(f"{label(*r)}: {wins[r]}/{n}" for r in runs),
              "", "Mean ratio to the best filter: " + "; ".join(f"{label(*r)}: {np.mean(ratios[r]):.4f}" for r in runs), "",
              f"{time.time() - t0:.0f} s", "", "Chosen: " + best[0]]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-9:]))


if __name__ == "__main__":
    main()
