"""Two arms of the imbalance benchmark compared run for run: the paired difference in minority and majority recall.

    python bench/paired.py bench/results/imbalance_val_folds_warp.json:autopose+classic \
                           bench/results/imbalance_val_folds_k1.json:autopose+classic

Each argument is a results file of bench/imbalance.py (its .json, or an unfinished .partial.jsonl) and an arm in it.
Runs are paired by (dataset, k, validation fold, seed): one recognizer trained from the same initial weights on the same
reduced training set, so the difference is the arms' alone. Per dataset and k it prints the number of pairs, the mean
difference A − B in points with its standard error (std / sqrt(n)), how many pairs A wins and loses, and the same for
majority recall. Pairs that only one side has are left out and counted.
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", help="FILE:ARM, the arm tested")
    ap.add_argument("b", help="FILE:ARM, the arm it is compared with")
    args = ap.parse_args(argv)
    rows = paired(runs_of(args.a), runs_of(args.b))
    if not rows: raise SystemExit("no (dataset, k) in common")
    print(f"A = {args.a}\nB = {args.b}\npaired by (dataset, k, fold, seed); A − B in points, mean ± standard error\n")
    for r in rows:
        mi, ma = r["minority_recall"], r["majority_recall"]
        print(f"{r['dataset']} k={r['k']}: n={r['n']}" + (f" ({r['unpaired']} unpaired left out)" if r["unpaired"] else "")
              + f"  minority {mi['mean']:+.2f} ± {mi['se']:.2f} (A better {mi['wins']}, worse {mi['losses']})"
              + f"  majority {ma['mean']:+.2f} ± {ma['se']:.2f}")
    return rows


if __name__ == "__main__":
    main()
