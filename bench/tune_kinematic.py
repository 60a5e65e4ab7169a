"""Tune KinematicAugment's parameters on the validation protocol: the test subjects are never read.

    python bench/tune_kinematic.py [--jobs 2] [--configs angle4,angle12,...] [--seeds 5]

Each config is an arm of bench/imbalance.py with autopose's re-posing (autopose+classic, or the same with the real
clips repeated: autopose+oversample+classic) and KinematicAugment parameters that differ from the first guess (FIRST_GUESS,
KinematicAugment's defaults before this tuning chose the present ones). Each is trained with `bench/imbalance.py
--protocol val --arms ARM --full-arms '' --kinematic JSON` (tcn, 1,000 steps, k = 1, 2, 3, MSR Action3D and UTKinect:
train subjects 1, 3, 5, validate on 7, 9) into bench/results/tuning/<config>.*; a config whose file is there is not
trained again. The first guess's runs (autopose+classic) are those of bench/results/imbalance_val.json, made with it,
which also gives the baselines. Writes bench/results/kinematic_tuning.md: per config and cell the mean minority and
majority recall, the paired per-seed difference to the first guess, and the mean over the six cells, the number a
config is chosen by.
"""
import argparse, json, sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import imbalance  # noqa: E402

RESULTS = Path(__file__).parent / "results"
ARM = "autopose+classic"
# KinematicAugment's defaults when bench/results/imbalance_val.json and bench/results/tuning/ were made (up to 4618610; no time warp).
FIRST_GUESS = {"segment": 0.1, "height": [0.9, 1.1], "angle_deg": 8.0, "amplitude": [0.8, 1.2], "yaw_deg": 30.0, "crop": [0.8, 1.0], "warp": 0.0}


CONFIGS = {   # name -> (arm, KinematicAugment parameters that differ from FIRST_GUESS)
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
        sys.exit(f"{ref_file}: expected the first guess's tcn runs on the validation protocol with {a.seeds} seeds, got {s}")
    if imbalance.reposing_key(s.get("reposing", FIRST_GUESS)) != imbalance.reposing_key(FIRST_GUESS):   # files made before the defaults changed do not state them
        sys.exit(f"{ref_file}: made with the re-posing {s['reposing']}, expected the first guess {FIRST_GUESS}")
    results, arms = {"first guess": cells(ref["runs"], ARM)}, {"first guess": ARM}
    base_arms = ("classic", "oversample+classic")
    for name in names:
        out = RESULTS / "tuning" / name          # a prefix: a config's name has no dot
        arms[name], kw = CONFIGS[name]
        if not out.with_suffix(".json").is_file():
            imbalance.main(["--protocol", "val", "--arms", arms[name], "--full-arms", "", "--jobs", str(a.jobs), "--seeds", str(a.seeds),
                            "--kinematic", json.dumps(FIRST_GUESS | kw), "--out", str(out), "--resume"])
        runs = json.loads(out.with_suffix(".json").read_text())
        made = runs["settings"].get("reposing", FIRST_GUESS) | runs["settings"]["kinematic"]   # the stored files predate "reposing"
        if imbalance.reposing_key(made) != imbalance.reposing_key(FIRST_GUESS | kw) or runs["settings"]["arms"] != [arms[name]]:
            sys.exit(f"{out}.json: made with {runs['settings']['arms']} --kinematic {runs['settings']['kinematic']}, "
                     f"expected {[arms[name]]} {kw}; delete it to re-run")
        results[name] = cells(runs["runs"], arms[name])
    keys = sorted(results["first guess"])
    best_base = {c: max((np.mean([v[0] for v in cells(ref["runs"], b)[c].values()]), b) for b in base_arms) for c in keys}
    lines = [f"# KinematicAugment and the real clips' share tuned on the validation protocol (tcn, {a.seeds} seeds)\n",
             f"{ref['machine']}\n",
             "Train subjects 1, 3, 5; validate on 7, 9 (the test subjects are never read). Minority recall, mean over seeds (%); "
             "Δ = paired per-seed difference to the first guess (worst seed); majority Δ after the slash. The first guess's runs "
             f"and the best baseline come from {ref_file.name}. Parameters: KinematicAugment's that differ from the first guess "
             f"`{json.dumps(FIRST_GUESS)}`.\n",
             "| config | arm | parameters | " + " | ".join(f"{d} k={k}" for d, k in keys) + " | mean Δ minority | mean Δ majority |",
             "|---|---|---|" + "---:|" * (len(keys) + 2),
             "| best baseline |  |  | " + " | ".join(f"{100 * best_base[c][0]:.1f} ({best_base[c][1]})" for c in keys) + " |  |  |"]
    summary = {}
    for name, res in results.items():
        row, dmin, dmaj = [], [], []
        for c in keys:
            seeds = sorted(results["first guess"][c])
            mi = np.array([res[c][s][0] for s in seeds]); ma = np.array([res[c][s][1] for s in seeds])
            d0, m0 = (np.array([results["first guess"][c][s][i] for s in seeds]) for i in (0, 1))
            dmin.append(np.mean(mi - d0)); dmaj.append(np.mean(ma - m0))
            row.append(f"{100 * mi.mean():.1f}" + ("" if name == "first guess" else
                       f", {100 * dmin[-1]:+.1f} ({100 * (mi - d0).min():+.1f}) / {100 * dmaj[-1]:+.1f}"))
        summary[name] = {"minority": float(np.mean(dmin)), "majority": float(np.mean(dmaj))}
        lines.append(f"| {name} | {arms[name]} | `{json.dumps(CONFIGS.get(name, (ARM, {}))[1])}` | " + " | ".join(row)
                     + f" | {100 * np.mean(dmin):+.1f} | {100 * np.mean(dmaj):+.1f} |")
    best = max(summary, key=lambda n: summary[n]["minority"])
    lines.append(f"\nHighest mean minority recall over the six cells: {best} "
                 f"({100 * summary[best]['minority']:+.1f} over the first guess, majority {100 * summary[best]['majority']:+.1f}).")
    now = imbalance.reposing({})
    chosen = [n for n in results if arms[n] == ARM and imbalance.reposing_key(FIRST_GUESS | CONFIGS.get(n, (ARM, {}))[1]) == imbalance.reposing_key(now)]
    lines.append(f"KinematicAugment's defaults now: `{json.dumps(now)}`" + (f" (config {chosen[0]})." if chosen else "."))
    md = "\n".join(lines) + "\n"
    (RESULTS / "kinematic_tuning.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
