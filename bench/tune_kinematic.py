"""Tune KinematicAugment's parameters on the validation protocol: the test subjects are never read.

    python bench/tune_kinematic.py [--jobs 2] [--configs angle4,angle12,...] [--seeds 5]

Each config is an arm of bench/imbalance.py with autopose's re-posing (autopose+classic, or the same with the real
clips repeated: autopose+oversample+classic) and KinematicAugment parameters other than its defaults. Each is trained
with `bench/imbalance.py --protocol val --arms ARM --full-arms '' --kinematic JSON` (tcn, 1,000 steps, k = 1, 2, 3,
MSR Action3D and UTKinect: train subjects 1, 3, 5, validate on 7, 9) into bench/results/tuning/<config>.*; a config
whose file is there is not trained again. The defaults' runs (autopose+classic, default parameters) are those of
bench/results/imbalance_val.json (the same settings), which also gives the baselines. Writes bench/results/kinematic_tuning.md: per config and cell the
mean minority and majority recall, the paired per-seed difference to the defaults, and the mean over the six cells, the
number a config is chosen by.
"""
import argparse, json, sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import imbalance  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ARM = "autopose+classic"
CONFIGS = {   # name -> (arm, KinematicAugment parameters other than its defaults)
    "angle4": (ARM, {"angle_deg": 4.0}),
    "angle12": (ARM, {"angle_deg": 12.0}),
    "amplitude_wide": (ARM, {"amplitude": [0.7, 1.3]}),
    "body_wide": (ARM, {"segment": 0.2, "height": [0.85, 1.15]}),
    "strong": (ARM, {"angle_deg": 12.0, "amplitude": [0.7, 1.3], "segment": 0.15}),
    "angle16": (ARM, {"angle_deg": 16.0}),
    "repeat_real": ("autopose+oversample+classic", {}),
    "repeat_real_angle12": ("autopose+oversample+classic", {"angle_deg": 12.0}),
}


def cells(runs, arm):
    "{(dataset, k): {seed: (minority, majority)}} of one arm's runs."
    out = {}
    for r in runs:
        if r["arm"] == arm and r["k"] is not None:
            out.setdefault((r["dataset"], r["k"]), {})[r["seed"]] = (r["minority_recall"], r["majority_recall"])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated, from: " + ", ".join(CONFIGS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args(argv)
    names = [c for c in a.configs.split(",") if c]
    assert not any("." in c for c in CONFIGS), "a config's name is a file prefix: no dot"
    bad = [c for c in names if c not in CONFIGS]
    if bad: ap.error(f"--configs: unknown {bad}; known: {', '.join(CONFIGS)}")
    ref_file = RESULTS / "imbalance_val.json"
    ref = json.loads(ref_file.read_text())
    s = ref["settings"]
    if s.get("kinematic") or s["model"] != "tcn" or s["protocol"] != "val" or s["seeds"] != a.seeds:
        sys.exit(f"{ref_file}: expected the defaults' tcn runs on the validation protocol with {a.seeds} seeds, got {s}")
    results, arms = {"defaults": cells(ref["runs"], ARM)}, {"defaults": ARM}
    base_arms = ("classic", "oversample+classic")
    for name in names:
        out = RESULTS / "tuning" / name          # a prefix: a config's name has no dot
        arms[name], kw = CONFIGS[name]
        if not out.with_suffix(".json").is_file():
            imbalance.main(["--protocol", "val", "--arms", arms[name], "--full-arms", "", "--jobs", str(a.jobs), "--seeds", str(a.seeds),
                            "--kinematic", json.dumps(kw), "--out", str(out), "--resume"])
        runs = json.loads(out.with_suffix(".json").read_text())
        if runs["settings"]["kinematic"] != kw or runs["settings"]["arms"] != [arms[name]]:
            sys.exit(f"{out}.json: made with {runs['settings']['arms']} --kinematic {runs['settings']['kinematic']}, "
                     f"expected {[arms[name]]} {kw}; delete it to re-run")
        results[name] = cells(runs["runs"], arms[name])
    keys = sorted(results["defaults"])
    best_base = {c: max((np.mean([v[0] for v in cells(ref["runs"], b)[c].values()]), b) for b in base_arms) for c in keys}
    lines = [f"# KinematicAugment and the real clips' share tuned on the validation protocol (tcn, {a.seeds} seeds)\n",
             f"{ref['machine']}\n",
             "Train subjects 1, 3, 5; validate on 7, 9 (the test subjects are never read). Minority recall, mean over seeds (%); "
             "Δ = paired per-seed difference to the defaults (worst seed); majority Δ after the slash. The defaults' runs and the "
             f"best baseline come from {ref_file.name}. Parameters: KinematicAugment's, other than its defaults.\n",
             "| config | arm | parameters | " + " | ".join(f"{d} k={k}" for d, k in keys) + " | mean Δ minority | mean Δ majority |",
             "|---|---|---|" + "---:|" * (len(keys) + 2),
             "| best baseline |  |  | " + " | ".join(f"{100 * best_base[c][0]:.1f} ({best_base[c][1]})" for c in keys) + " |  |  |"]
    summary = {}
    for name, res in results.items():
        row, dmin, dmaj = [], [], []
        for c in keys:
            seeds = sorted(results["defaults"][c])
            mi = np.array([res[c][s][0] for s in seeds]); ma = np.array([res[c][s][1] for s in seeds])
            d0 = np.array([results["defaults"][c][s][0] for s in seeds]); m0 = np.array([results["defaults"][c][s][1] for s in seeds])
            dmin.append(np.mean(mi - d0)); dmaj.append(np.mean(ma - m0))
            row.append(f"{100 * mi.mean():.1f}" + ("" if name == "defaults" else
                       f", {100 * dmin[-1]:+.1f} ({100 * (mi - d0).min():+.1f}) / {100 * dmaj[-1]:+.1f}"))
        summary[name] = {"minority": float(np.mean(dmin)), "majority": float(np.mean(dmaj))}
        lines.append(f"| {name} | {arms[name]} | `{json.dumps(CONFIGS.get(name, (ARM, {}))[1])}` | " + " | ".join(row)
                     + f" | {100 * np.mean(dmin):+.1f} | {100 * np.mean(dmaj):+.1f} |")
    best = max(summary, key=lambda n: summary[n]["minority"])
    lines.append(f"\nHighest mean minority recall over the six cells: {best} "
                 f"({100 * summary[best]['minority']:+.1f} over the defaults, majority {100 * summary[best]['majority']:+.1f}).")
    md = "\n".join(lines) + "\n"
    (RESULTS / "kinematic_tuning.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
