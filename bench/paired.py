"""Two arms of the imbalance benchmark compared run for run: the paired difference in minority and majority recall.

    python bench/paired.py bench/results/imbalance_val_folds_warp.json:autopose+classic \
                           bench/results/imbalance_val_folds_k1.json:autopose+classic

Each argument is a results file of bench/imbalance.py (its .json, or an unfinished .partial.jsonl) and an arm in it.
Runs are paired by (dataset, k, validation fold, seed): one recognizer trained from the same initial weights on the same
reduced training set, so the difference is the arms' alone. Per dataset and k it prints the number of pairs, the mean
difference A − B in points with its standard error (std / sqrt(n)), how many pairs A wins and loses, and the same for
majority recall. Pairs that only one side has are left out and counted.

With `--below X` it also lists the pairs whose minority difference is below X points, with each minority class's
recall in A and in B, and counts per dataset and k those in which some minority class is at 0 % in both arms
(neither learnt it) or at 100 % in both (no room): where a few classes decide a unit, the list shows which.
"""
from __future__ import annotations

import argparse, json
from pathlib import Path

import numpy as np


def runs_of(spec: str) -> dict:
    "{(dataset, k, fold, seed): run} of one arm, from 'FILE:ARM'."
    path, sep, arm = spec.partition(":")
    if not sep or not arm: raise SystemExit(f"{spec!r}: expected FILE:ARM, e.g. bench/results/imbalance.json:autopose+classic")
    p = Path(path)
    if not p.is_file(): raise SystemExit(f"{path}: no such results file")
    runs = [json.loads(line) for line in p.read_text().splitlines() if line.strip()] if p.suffix == ".jsonl" else json.loads(p.read_text())["runs"]
    got = {(r["dataset"], r["k"], r.get("fold", 0), r["seed"]): r for r in runs if r["arm"] == arm}
    if not got: raise SystemExit(f"{path}: no runs of arm {arm!r}; its arms: {sorted({r['arm'] for r in runs})}")
    return got


def paired(a: dict, b: dict) -> list[dict]:
    "Per (dataset, k): n, mean and standard error of A − B (points), wins and losses, for minority and majority recall."
    out = []
    for d, k in sorted({key[:2] for key in a} & {key[:2] for key in b}, key=lambda c: (c[0], -1 if c[1] is None else c[1])):
        keys = sorted(key for key in a if key[:2] == (d, k) and key in b)
        row = {"dataset": d, "k": k, "n": len(keys), "unpaired": sum(key[:2] == (d, k) for key in a.keys() ^ b.keys())}
        for m in ("minority_recall", "majority_recall"):
            x = 100 * np.array([a[key][m] - b[key][m] for key in keys])
            se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
            row[m] = {"mean": float(x.mean()), "se": float(se), "wins": int((x > 0).sum()), "losses": int((x < 0).sum())}
        out.append(row)
    return out


def below(a: dict, b: dict, x: float) -> list[dict]:
    "The pairs whose minority difference A − B is below `x` points: their key, the difference, and (class, recall A, recall B) per minority class."
    out = []
    for key in sorted(a.keys() & b.keys(), key=lambda u: (u[0], -1 if u[1] is None else u[1], *u[2:])):
        ra, rb = a[key], b[key]
        diff = 100 * (ra["minority_recall"] - rb["minority_recall"])
        if diff < x:
            if ra["minority"] != rb["minority"]: raise SystemExit(f"pair {key}: the arms' minority classes differ ({ra['minority']} and {rb['minority']})")
            out.append({"key": key, "diff": diff, "classes": [(c, 100 * ra["per_class_recall"][c], 100 * rb["per_class_recall"][c]) for c in ra["minority"]]})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", help="FILE:ARM, the arm tested")
    ap.add_argument("b", help="FILE:ARM, the arm it is compared with")
    ap.add_argument("--below", type=float, default=None, metavar="X", help="list the pairs whose minority difference is below X points")
    args = ap.parse_args(argv)
    ra, rb = runs_of(args.a), runs_of(args.b)
    rows = paired(ra, rb)
    if not rows: raise SystemExit("no (dataset, k) in common")
    print(f"A = {args.a}\nB = {args.b}\npaired by (dataset, k, fold, seed); A − B in points, mean ± standard error\n")
    for r in rows:
        mi, ma = r["minority_recall"], r["majority_recall"]
        print(f"{r['dataset']} k={r['k']}: n={r['n']}" + (f" ({r['unpaired']} unpaired left out)" if r["unpaired"] else "")
              + f"  minority {mi['mean']:+.2f} ± {mi['se']:.2f} (A better {mi['wins']}, worse {mi['losses']})"
              + f"  majority {ma['mean']:+.2f} ± {ma['se']:.2f}")
    if args.below is not None:
        low = below(ra, rb, args.below)
        print(f"\n{len(low)} pairs with minority A − B below {args.below:g} points; per minority class: recall A / B (%)")
        for u in low:
            d, k, fold, seed = u["key"]
            print(f"{d} k={k} fold {fold} seed {seed}: {u['diff']:+.1f}  " + ", ".join(f"class {c}: {x:.0f} / {y:.0f}" for c, x, y in u["classes"]))
        for d, k in dict.fromkeys(u["key"][:2] for u in low):
            cell = [u for u in low if u["key"][:2] == (d, k)]
            zero = sum(any(x == 0 == y for _, x, y in u["classes"]) for u in cell)
            full = sum(any(x == 100 == y for _, x, y in u["classes"]) for u in cell)
            print(f"{d} k={k}: {len(cell)} pairs below; in {zero} of them a minority class is at 0 % in both arms, in {full} one is at 100 % in both")
        return rows, low
    return rows


if __name__ == "__main__":
    main()
