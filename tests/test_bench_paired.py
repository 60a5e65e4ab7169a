"""bench/paired.py: two arms of the imbalance benchmark compared run for run."""
import json
import re

import numpy as np
import pytest


def _run(arm, seed, minority, majority, k=1, fold=0, dataset="msr_action3d"):
    return {"dataset": dataset, "k": k, "fold": fold, "seed": seed, "arm": arm, "minority_recall": minority, "majority_recall": majority}


def test_paired_differences_by_hand(bench, tmp_path, capsys):
    """A − B per (dataset, k), paired by (fold, seed): mean and standard error checked against the hand computation;
    a run without its partner is left out and counted; a .json and a .partial.jsonl read alike"""
    p = bench("paired")
    a = [_run("x", s, m, 0.8) for s, m in enumerate([0.5, 0.6, 0.7])] + [_run("x", 0, 0.4, 0.9, fold=1), _run("x", 9, 0.1, 0.1)]
    b = [_run("y", s, m, 0.9) for s, m in enumerate([0.4, 0.4, 0.4])] + [_run("y", 0, 0.5, 0.9, fold=1), _run("y", 0, 0.2, 0.9, k=2)]
    (tmp_path / "a.json").write_text(json.dumps({"runs": a}))
    (tmp_path / "b.partial.jsonl").write_text("\n".join(json.dumps(r) for r in b) + "\n")
    rows = p.main([f"{tmp_path / 'a.json'}:x", f"{tmp_path / 'b.partial.jsonl'}:y"])
    assert [(r["dataset"], r["k"], r["n"], r["unpaired"]) for r in rows] == [("msr_action3d", 1, 4, 1)]   # k=2: B only
    d = np.array([10.0, 20.0, 30.0, -10.0])                                   # points: seeds 0, 1, 2 of fold 0, seed 0 of fold 1
    mi = rows[0]["minority_recall"]
    assert mi["mean"] == pytest.approx(d.mean()) and mi["se"] == pytest.approx(d.std(ddof=1) / 2) and (mi["wins"], mi["losses"]) == (3, 1)
    assert rows[0]["majority_recall"]["mean"] == pytest.approx(-7.5)         # -10, -10, -10, 0
    assert "n=4 (1 unpaired left out)  minority +12.50 ± 8.54 (A better 3, worse 1)" in capsys.readouterr().out


def test_paired_bad_input(bench, tmp_path):
    """a spec without an arm, a missing file, an arm the file does not have, nothing in common: each says what was expected"""
    p = bench("paired")
    f = tmp_path / "r.json"; f.write_text(json.dumps({"runs": [_run("x", 0, 0.5, 0.5)]}))
    g = tmp_path / "s.json"; g.write_text(json.dumps({"runs": [_run("x", 0, 0.5, 0.5, dataset="utkinect")]}))
    for args, msg in [([str(f), f"{f}:x"], "expected FILE:ARM"), ([f"{tmp_path / 'no.json'}:x", f"{f}:x"], "no such results file"),
                      ([f"{f}:z", f"{f}:x"], "no runs of arm 'z'; its arms: ['x']"), ([f"{f}:x", f"{g}:x"], "no (dataset, k) in common")]:
        with pytest.raises(SystemExit, match=re.escape(msg)): p.main(args)


def test_paired_below_lists_the_units_and_their_classes(bench, tmp_path, capsys):
    """--below X: the pairs under X points with each minority class's recall in both arms, and the counts of pairs where
    a class is at 0 % in both (neither learnt it) or at 100 % in both; pairs at or above X are not listed"""
    p = bench("paired")
    def run(arm, seed, per):
        return _run(arm, seed, float(np.mean(per)), 0.9) | {"minority": [1, 2], "per_class_recall": [0.9, *per]}
    a = [run("x", 0, [0.0, 1.0]), run("x", 1, [0.5, 1.0]), run("x", 2, [1.0, 1.0])]
    b = [run("y", 0, [0.0, 1.0]), run("y", 1, [0.25, 1.0]), run("y", 2, [0.5, 0.5])]   # differences 0, +12.5, +50 points
    (tmp_path / "r.json").write_text(json.dumps({"runs": a + b}))
    rows, low = p.main([f"{tmp_path / 'r.json'}:x", f"{tmp_path / 'r.json'}:y", "--below", "20"])
    assert [(u["key"][3], u["diff"]) for u in low] == [(0, 0.0), (1, 12.5)]
    assert low[1]["classes"] == [(1, 50.0, 25.0), (2, 100.0, 100.0)]
    out = capsys.readouterr().out
    assert "2 pairs with minority A − B below 20 points" in out and "fold 0 seed 1: +12.5  class 1: 50 / 25, class 2: 100 / 100" in out
    assert "msr_action3d k=1: 2 pairs below; in 1 of them a minority class is at 0 % in both arms, in 2 one is at 100 % in both" in out
