"""The imbalance benchmark: does an augmentation help a skeleton recognizer on the minority classes?

Measured on held-out real subjects:

    python bench/imbalance.py [--datasets msr_action3d,utkinect] [--seeds 5] [--k 1,2,3] [--arms ...]
                              [--model tcn] [--model-kw JSON] [--steps 1000] [--jobs 1] [--protocol test|val] [--folds 1] [--quick]
                              [--out bench/results/imbalance]

Protocol (GitHub issue 5). Cross-subject splits (MSR Action3D: the 557 files of the CVPR'12 list, subjects
1,3,5,7,9 train / 2,4,6,8,10 test; UTKinect: the same odd/even subject split). For each seed, `--minority`
classes are chosen with the seed and each is reduced to k training clips chosen with the seed (nested: the
k=1 clip is among the k=2 clips); the other classes keep all theirs; the test split is untouched. Every arm
of a seed trains the same recognizer (`autopose.recognize`) from the same initial weights, with the same
preprocessing and the same number of optimiser steps; the arms differ only in their training set and
their on-the-fly transform. The full-data rows train on the unreduced training split: the upper bound.
`--protocol val` is for tuning: it never reads the test subjects, training on the training subjects but the last
two and validating on those two (`validation_split`); its results go to bench/results/imbalance_val.*.
`--folds N` (with `--protocol val`) repeats that over N ways of holding out two of the five training subjects (fold 0:
the last two, then the other pairs; 10 in all), so that a tuning decision rests on N times as many runs; a fold and a
seed make one paired unit, and "worst seed" is then the worst (fold, seed).

An arm is one function `(train PoseDataset, rng) -> (train PoseDataset, transform or None)` registered
with `@arm(name, baseline=...)`; the transform is `(x (B, T, J, 3) numpy, rng) -> x`, applied to each
training batch of canonical clips. Adding an arm is a decorated function in this file. autopose's arms use its
synthetic clips (`autopose.augment`) and its on-the-fly re-posing (`autopose.kinematic.KinematicAugment`); the
controls oversample+kinematic(+classic) are the re-posing without the clips, and `pool` the clips without it.

Reported per dataset and k: mean ± sample std over seeds of minority recall (mean recall of the reduced
classes), majority recall, balanced accuracy and top-1, and for every arm the paired per-seed difference
in minority and majority recall against the best baseline (the baseline arm with the highest mean
minority recall at that k), with the worst seed and the count of seeds where the arm is better.
Writes <out>.json (every run's numbers and the settings) and <out>.md (the tables), prints both's tables.
"""
from __future__ import annotations

import argparse, contextlib, inspect, json, sys, time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from functools import lru_cache
from itertools import combinations
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

from autopose.core import PoseDataset, atomic_write  # noqa: E402
from autopose.kinematic import Compose, KinematicAugment  # noqa: E402
from autopose.recognize import MODELS, ClassicAugment, Transform, build_model, make_imbalanced, oversample, train_and_evaluate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


# ---------------------------------------------------------------- datasets
@dataclass(frozen=True)
class BenchDataset:
    name: str          # a name `autopose.datasets.load_dataset` knows
    folder: str        # under --data
    n_minority: int    # classes reduced to k clips (default; --minority overrides)


DATASETS = {"msr_action3d": BenchDataset("msr_action3d", "msr_action3d", 5),   # 5 of 20 classes
            "utkinect": BenchDataset("utkinect", "utkinect", 3)}               # 3 of 10 classes


def validation_folds(subjects) -> list[tuple]:
    "Every pair of `subjects` that a validation fold may hold out, fold 0 the last two (sorted ids), then backwards."
    subj = sorted(set(subjects))
    if len(subj) < 3: raise ValueError(f"validation_split: expected at least 3 training subjects, got {subj}")
    return list(combinations(subj, 2))[::-1]


def validation_split(train: PoseDataset, fold: int = 0) -> tuple[PoseDataset, PoseDataset]:
    """The training split's subjects divided for tuning without the test subjects: fold 0 holds out the last two
    subjects (sorted ids) as the validation set, the others train (MSR Action3D and UTKinect: train 1, 3, 5 / validate
    7, 9); fold i holds out the i-th pair of `validation_folds`."""
    folds = validation_folds(train.subjects.tolist())
    if not 0 <= fold < len(folds): raise ValueError(f"validation_split: expected a fold in [0, {len(folds)}) for subjects {sorted(set(train.subjects.tolist()))}, got {fold}")
    held = np.isin(train.subjects, folds[fold])
    return train.subset(~held), train.subset(held)


@lru_cache(maxsize=None)
def load(name: str, data_root: str) -> PoseDataset:
    "The dataset with its xsub_train / xsub_test splits (cached per process)."
    from autopose.datasets import load_dataset
    ds = load_dataset(name, Path(data_root) / DATASETS[name].folder)
    missing = {"xsub_train", "xsub_test"} - set(ds.splits)
    if missing: raise ValueError(f"{name}: expected the splits xsub_train and xsub_test, missing {sorted(missing)}")
    return ds


# ---------------------------------------------------------------- arms
ArmFn = Callable[[PoseDataset, np.random.Generator], "tuple[PoseDataset, Transform | None]"]


@dataclass(frozen=True)
class Arm:
    fn: ArmFn
    baseline: bool     # counts as a baseline when picking "the best baseline"
    description: str


ARMS: dict[str, Arm] = {}


def arm(name: str, baseline: bool = False):
    "Register `fn(train, rng) -> (train, transform | None)` as the arm `name`."
    def register(fn: ArmFn) -> ArmFn:
        ARMS[name] = Arm(fn, baseline, (fn.__doc__ or "").strip())
        return fn
    return register


@arm("none", baseline=True)
def arm_none(train, rng):
    "The reduced training set as is."
    return train, None


@arm("oversample", baseline=True)
def arm_oversample(train, rng):
    "Every class's clips repeated up to the largest class (class-balanced sampling)."
    return oversample(train, rng), None


@arm("classic", baseline=True)
def arm_classic(train, rng):
    "On-the-fly crop, rotation about y, scale and joint noise (autopose.recognize.ClassicAugment)."
    return train, ClassicAugment()


@arm("oversample+classic", baseline=True)
def arm_oversample_classic(train, rng):
    "Oversampling and the classic on-the-fly augmentation together."
    return oversample(train, rng), ClassicAugment()


@arm("synthda")
def arm_synthda(train, rng):
    """SynthDa's real-real mixing, every class filled up to the largest: P = P_r + 0.5 (wA P_r - wB P_s) on raw joints
    after linear time stretching, (wA, wB) drawn from SynthDa's nine; P_s another clip of the class (itself for a one-clip class)."""
    from autopose.synth import SYNTHDA_WEIGHTS, synthda_mix, synthda_resample
    counts = train.class_counts(); seqs, labels = [], []
    for c in np.flatnonzero(counts):
        own = np.flatnonzero(train.labels == c)
        for _ in range(int(counts.max() - counts[c])):
            r = int(rng.choice(own)); s = int(rng.choice(own[own != r])) if len(own) > 1 else r
            P_r = np.nan_to_num(train.sequences[r].xyz.astype(np.float64))      # SynthDa has no missing joints; MSR's few NaN -> 0 as in its npy
            P_s = synthda_resample(np.nan_to_num(train.sequences[s].xyz), len(P_r))
            x = synthda_mix(P_r, P_s, *SYNTHDA_WEIGHTS[int(rng.integers(len(SYNTHDA_WEIGHTS)))])
            seqs.append(x); labels.append(int(c))
    return _with_synthetic(train, seqs, labels, "synthda"), None


def _with_synthetic(train, seqs, labels, tag):
    "The training set plus clips given as (T, J, 3) arrays, appended after the real ones (autopose.balance.merge_synthetic)."
    from autopose.balance import merge_synthetic
    from autopose.core import PoseSequence
    fps = train.sequences[0].fps
    syn = PoseDataset([PoseSequence(train.joint_set, fps, xyz=np.asarray(x, np.float32)) for x in seqs], np.asarray(labels, np.int64),
                      train.class_names, names=[f"{tag}{i:05d}" for i in range(len(seqs))], joint_set=train.joint_set)
    return merge_synthetic(train, syn)


# The variation switched off by each ablation (`autopose.synth.VARIATION_RANGES` keys) or the synthesis option changed;
# mirroring, off by default, is switched on; wide_single and wider_single widen the variations of clips made from one
# source (a class with one clip; bench/results/imbalance_val_k1_single.md), copy_single switches them off (such a clip is
# then its source, mirrored or not, left to the on-the-fly re-posing; bench/results/imbalance_val_folds_k1.md).
ABLATIONS = {"no_mix": {"sources": 1}, "mirror": {"ranges": {"mirror": 0.5}}, "no_speed": {"ranges": {"speed": (1.0, 1.0)}},
             "no_crop": {"ranges": {"keep": (1.0, 1.0)}}, "no_view": {"ranges": {"yaw_deg": (0.0, 0.0)}},
             "no_shape": {"ranges": {"height": (1.0, 1.0), "segment": 0.0}}, "no_noise": {"ranges": {"noise_deg": (0.0, 0.0)}},
             "no_amplitude": {"ranges": {"amplitude": (1.0, 1.0)}},
             "no_validity": {"bounds": {}}, "no_mirror_single": {"mirror_single": 0.0},
             "wide_single": {"single_ranges": {"speed": (0.7, 1.4), "amplitude": (0.6, 1.5), "noise_deg": (0.0, 6.0), "height": (0.85, 1.15), "segment": 0.1}},
             "wider_single": {"single_ranges": {"speed": (0.6, 1.6), "amplitude": (0.5, 1.8), "noise_deg": (0.0, 10.0), "height": (0.8, 1.2), "segment": 0.15, "yaw_deg": (-60.0, 60.0)}},
             "copy_single": {"single_ranges": {"speed": (1.0, 1.0), "keep": (1.0, 1.0), "yaw_deg": (0.0, 0.0), "height": (1.0, 1.0), "segment": 0.0,
                                               "noise_deg": (0.0, 0.0), "amplitude": (1.0, 1.0)}}}


def fill_counts(train, fill: float = 1.0) -> dict:
    "{class: clips to add} so that every class present has `fill` times as many clips as the largest."
    counts = train.class_counts(); top = int(round(counts.max() * fill))
    return {int(c): int(top - counts[c]) for c in np.flatnonzero(counts) if counts[c] < top}


def autopose_balanced(train, rng, fill: float = 1.0, made=((), ()), **kw):
    """Every class filled up to `fill` times the largest with `autopose.augment` (the public API), from the class's own
    training clips; `made`: (clips, labels) made otherwise, counted in the fill and appended after augment's."""
    from autopose.balance import augment
    need = fill_counts(train, fill)
    for c in made[1]: need[c] -= 1
    seqs = [s.xyz for s in train.sequences]
    new, labels, _ = augment(seqs, train.labels, need, joint_set=train.joint_set, fps=train.sequences[0].fps, rng=rng, nan="fill", **kw)
    return _with_synthetic(train, list(new) + list(made[0]), np.concatenate([labels, np.asarray(made[1], np.int64)]), "autopose")


# KinematicAugment's parameters other than its defaults, from --kinematic (set by run_one in the process that trains).
KINEMATIC_KW: dict = {}


def reposing_key(params: dict) -> dict:
    "Re-posing parameters as keys and comparisons name them: a time warp of 0 (off) is left out, as in the runs made before it existed."
    return {k: v for k, v in params.items() if not (k == "warp" and not v)}


def reposing(kw: dict) -> dict:
    "Every KinematicAugment parameter (but the skeleton) of the re-posing with `kw` over its defaults, as JSON values (`reposing_key`)."
    aug = KinematicAugment("ntu25", **kw)
    return reposing_key({f.name: (list(v) if isinstance(v := getattr(aug, f.name), tuple) else v) for f in fields(aug) if f.name != "joint_set"})


def kinematic(train, classic: bool = False, **over):
    """autopose's on-the-fly transform (autopose.kinematic.KinematicAugment) for the training set's skeleton, with `over`
    over --kinematic's parameters; with `classic`, its body, style and timing only (no view, no crop), followed by the
    classic augmentation (view, scale, noise, crop)."""
    if not classic: return KinematicAugment(train.joint_set, **(KINEMATIC_KW | over))
    return Compose(KinematicAugment(train.joint_set, **(KINEMATIC_KW | over | dict(yaw_deg=0, crop=None))), ClassicAugment())


@arm("autopose")
def arm_autopose(train, rng):
    "autopose alone: its synthesis (mixing in rotation space + variations + validity), every class filled up to the largest, and its on-the-fly re-posing in bone space."
    return autopose_balanced(train, rng), kinematic(train)


@arm("autopose+classic")
def arm_autopose_classic(train, rng):
    "autopose's synthesis and re-posing (body and style), and the classic on-the-fly augmentation (view, scale, noise, crop)."
    return autopose_balanced(train, rng), kinematic(train, classic=True)


@arm("autopose+oversample+classic")
def arm_autopose_oversample_classic(train, rng):
    "autopose+classic with the real clips repeated so that they keep at least half of every class (autopose.balance.repeat_real)."
    from autopose.balance import repeat_real
    return repeat_real(autopose_balanced(train, rng), rng), kinematic(train, classic=True)


# Controls: autopose's on-the-fly re-posing without its synthetic clips (what do the clips add?).
@arm("oversample+kinematic")
def arm_oversample_kinematic(train, rng):
    "A control: oversampling and autopose's re-posing (KinematicAugment), no synthetic clips."
    return oversample(train, rng), kinematic(train)


@arm("oversample+kinematic+classic")
def arm_oversample_kinematic_classic(train, rng):
    "A control: oversampling, autopose's re-posing (body and style) and the classic augmentation, no synthetic clips."
    return oversample(train, rng), kinematic(train, classic=True)


# A diagnostic: the synthetic pool without the re-posing (autopose alone before the re-posing existed).
@arm("pool")
def arm_pool(train, rng):
    "autopose's synthetic clips only, every class filled up to the largest, no on-the-fly transform."
    return autopose_balanced(train, rng), None


def _ablation(name, kw):
    def fn(train, rng): return autopose_balanced(train, rng, **kw), kinematic(train, classic=True)
    fn.__doc__ = f"autopose+classic with {name[3:]} off: {kw}" if name.startswith("no_") else f"autopose+classic with {name} on: {kw}"
    return fn


for _n, _kw in ABLATIONS.items(): arm(f"autopose+classic{'-' if _n.startswith('no_') else '+'}{_n}")(_ablation(_n, _kw))


def _filled(fill):
    def fn(train, rng): return autopose_balanced(train, rng, fill=fill), kinematic(train, classic=True)
    fn.__doc__ = f"autopose+classic with every class filled up to {fill:g} times the largest class"
    return fn


for _f in (2, 3): arm(f"autopose+classic+fill{_f}")(_filled(_f))


def _part_energy(m, parts):
    "Mean speed of each body part's joints relative to the root (m/frame)."
    P = m.positions(); rel = P - P[:, [m.joint_set.root]]
    sp = np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean(0)
    return {p: float(sp[parts == p].mean()) for p in ("arms", "legs")}


def donor_clips(train, classes, n_per_class, rng, still=0.3):
    "For each class with one clip: clips whose still body part (arms or legs) comes from another class's clip where it is still too."
    from autopose.synth import mix, random_variation, real_source, vary
    from autopose.validity import body_parts, validity_report
    parts = body_parts(train.joint_set)
    srcs = [real_source(s, n, int(sub)) for s, n, sub in zip(train.sequences, train.names, train.subjects)]
    en = [_part_energy(s.motion, parts) for s in srcs]
    seqs, labels = [], []
    is_still = lambda j, p: en[j][p] < still * max(en[j].values())
    for c in classes:
        (i,) = np.flatnonzero(train.labels == c)
        donors = {p: [j for j in range(len(srcs)) if train.labels[j] != c and is_still(j, p)] for p in ("arms", "legs") if is_still(i, p)}
        donors = {p: js for p, js in donors.items() if js}
        if not donors: continue
        for _ in range(n_per_class[c]):
            for _try in range(4):
                p = list(donors)[int(rng.integers(len(donors)))]
                d = donors[p][int(rng.integers(len(donors[p])))]
                m = mix([srcs[i].motion, srcs[d].motion], [1.0, 0.0], {p: [0.0, 1.0]}, body=0, floor=srcs[i].floor)
                m = vary(m, random_variation(rng, m.T, {"mirror": 0.5}), srcs[i].floor)
                if validity_report(m, srcs[i].floor)["valid"]:
                    seqs.append(m.to_sequence().xyz); labels.append(int(c)); break
    return seqs, labels


@arm("autopose+classic+donor")
def arm_autopose_classic_donor(train, rng):
    "autopose+classic where half the synthetic clips of a one-clip class take a still body part from another class's clip."
    need, counts = fill_counts(train), train.class_counts()
    singles = [c for c in need if counts[c] == 1]
    made = donor_clips(train, singles, {c: need[c] // 2 for c in singles}, rng)
    return autopose_balanced(train, rng, made=made), kinematic(train, classic=True)


@arm("autopose+classic-no_kinematic")
def arm_autopose_classic_no_kinematic(train, rng):
    "autopose+classic without the re-posing: the synthetic clips and the classic augmentation only."
    return autopose_balanced(train, rng), ClassicAugment()


@arm("autopose+classic-no_warp")
def arm_autopose_classic_no_warp(train, rng):
    "autopose+classic with the re-posing's time warp off (KinematicAugment(warp=0))."
    return autopose_balanced(train, rng), kinematic(train, classic=True, warp=0.0)


# The targets, checked when arms of these names were run: TARGET_ARM must beat the best baseline's
# minority recall by >= 5 points on average and on every seed, with majority recall no more than 1 point
# lower on average; TARGET_SOLO must beat oversample+classic's mean minority recall.
TARGET_ARM, TARGET_SOLO = "autopose+classic", "autopose"
ALSO_CHECKED = ("autopose+oversample+classic",)   # checked against TARGET_ARM's criterion too
# The arms of bench/results/imbalance.md (the README's table); the ablations and diagnostics are asked for by name.
MAIN_ARMS = ("none", "oversample", "classic", "oversample+classic", "synthda", "autopose", "autopose+classic", "autopose+oversample+classic",
             "oversample+kinematic", "oversample+kinematic+classic")


# ---------------------------------------------------------------- one run
def run_one(job: dict) -> dict:
    """Train and evaluate one (dataset, seed, k, arm); k = None is the full-data upper bound."""
    import torch
    torch.set_num_threads(job["threads"])
    ds = load(job["dataset"], job["data"])
    train, test = ds.split("xsub_train"), ds.split("xsub_test")
    if job.get("protocol", "test") == "val": train, test = validation_split(train, job.get("fold", 0))   # the test subjects stay unseen
    KINEMATIC_KW.clear(); KINEMATIC_KW.update(job.get("kinematic") or {})
    n_min, seed, k = job["n_minority"], job["seed"], job["k"]
    reduced, minority = make_imbalanced(train, n_min, k or 1, seed=seed)
    if k is None: reduced = train                     # full data; the minority classes are the same as for every k
    rng = np.random.default_rng([seed, 0 if k is None else k, 101])
    t0 = time.perf_counter()
    aug_train, transform = ARMS[job["arm"]].fn(reduced, rng)
    res = train_and_evaluate(aug_train, test, model=job["model"], seed=seed, steps=job["steps"], T=job["T"],
                             transform=transform, minority=minority, device=job["device"], batch_size=job["batch_size"],
                             model_kw=job.get("model_kw") or None)
    res.pop("model"); res.pop("confusion")
    return ({k_: job[k_] for k_ in ("dataset", "seed", "k", "arm")} | ({"fold": job["fold"]} if job.get("fold") else {})
            | res | {"wall_s": time.perf_counter() - t0, "key": job_key(job)})


def architecture(model: str, kw: dict) -> dict:
    "Every architecture option of the recognizer `model` with `kw` over its defaults, as JSON values."
    sig = inspect.signature(MODELS[model].__init__).parameters
    out = {n: p.default for n, p in sig.items() if p.default is not inspect.Parameter.empty and n != "inputs"} | kw
    return {n: list(v) if isinstance(v, tuple) else v for n, v in out.items()}


def job_key(job: dict) -> str:
    "Everything that decides a run's numbers (a finished run with this key is not run again with --resume)."
    keys = ("dataset", "n_minority", "seed", "k", "arm", "model", "steps", "T", "batch_size", "device")
    keys += ("protocol",) if job.get("protocol", "test") != "test" else ()   # the test protocol's keys predate the option
    keys += ("fold",) if job.get("fold") else ()                             # and fold 0's predate the folds
    key = {k: job[k] for k in keys}
    if job["model"] != "tcn": key["architecture"] = architecture(job["model"], job.get("model_kw") or {})   # the TCN's keys predate it
    if job["arm"] in ARMS and not ARMS[job["arm"]].baseline:    # the re-posing's parameters, defaults included: they change
        key["kinematic"] = reposing(job.get("kinematic") or {})
    return json.dumps(key, sort_keys=True)


# ---------------------------------------------------------------- aggregation
METRICS = ("minority_recall", "majority_recall", "balanced_accuracy", "top1")


def _ms(v):
    v = np.asarray(v, float) * 100
    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f}" if len(v) > 1 else f"{v.mean():.1f}"


def _unit(r: dict) -> tuple:
    "A run's paired unit: its (fold, seed); every arm of one unit trains on the same subjects, classes and clips."
    return r.get("fold", 0), r["seed"]


def summarise(runs: list[dict], arms: list[str]) -> dict:
    "Per dataset and k: mean/std per arm, the best baseline, paired per-seed differences, target checks."
    out = {}
    for d in sorted({r["dataset"] for r in runs}):
        out[d] = {}
        for k in sorted({r["k"] for r in runs if r["dataset"] == d}, key=lambda v: (v is None, v)):
            rows = {a: sorted((r for r in runs if r["dataset"] == d and r["k"] == k and r["arm"] == a), key=_unit) for a in arms}
            rows = {a: rs for a, rs in rows.items() if rs}
            stats = {a: {m: [r[m] for r in rs] for m in METRICS} | {"seeds": [r["seed"] for r in rs]}
                        | ({"folds": [r.get("fold", 0) for r in rs]} if any(r.get("fold") for r in rs) else {}) for a, rs in rows.items()}
            base = [a for a in stats if ARMS[a].baseline]
            best = max(base, key=lambda a: np.mean(stats[a]["minority_recall"])) if base else None
            for a, s in stats.items():
                if best is None or (s["seeds"], s.get("folds")) != (stats[best]["seeds"], stats[best].get("folds")): continue   # paired units only
                for m in ("minority_recall", "majority_recall"):
                    s[f"diff_{m}"] = (np.array(s[m]) - np.array(stats[best][m])).tolist()
            out[d]["all" if k is None else str(k)] = {"best_baseline": best, "arms": stats}
    return out


def targets(summary: dict) -> list[str]:
    "The issue's targets, checked only where their arms were run."
    lines = []
    for d, ks in summary.items():
        for k, s in ks.items():
            if k == "all": continue
            st = s["arms"]
            for arm_ in (TARGET_ARM, *ALSO_CHECKED):
                if arm_ not in st or "diff_minority_recall" not in st[arm_]: continue
                dm, dj = np.array(st[arm_]["diff_minority_recall"]) * 100, np.array(st[arm_]["diff_majority_recall"]) * 100
                ok = dm.mean() >= 5 and dm.min() >= 5 and dj.mean() >= -1
                lines.append(f"{d} k={k}: {arm_} vs {s['best_baseline']}: minority {dm.mean():+.1f} (worst seed {dm.min():+.1f}), "
                             f"majority {dj.mean():+.1f} -> {'MET' if ok else 'NOT MET'} (minority >= +5 on average and on every seed, majority >= -1)")
            if TARGET_SOLO in st and "oversample+classic" in st:
                a, b = np.array(st[TARGET_SOLO]["minority_recall"]), np.array(st["oversample+classic"]["minority_recall"])
                lines.append(f"{d} k={k}: {TARGET_SOLO} vs oversample+classic: minority {100 * (a.mean() - b.mean()):+.1f} -> {'MET' if a.mean() > b.mean() else 'NOT MET'}")
    return lines or ["targets: not checked (the autopose arms were not run)"]


def markdown(summary: dict, info: dict) -> str:
    out = []
    for d, ks in summary.items():
        di = info[d]
        sizes = f"{di['n_train']} training clips in full, {di['n_test']} test clips"
        if len(di.get("validation_folds", ())) > 1: sizes = f"{len(di['validation_folds'])} validation folds; fold 0: " + sizes.replace("test", "validation")
        out.append(f"### {d}: {di['n_minority']} minority classes of {di['classes']} reduced to k training clips ({sizes})\n")
        out.append("| k | arm | minority recall | majority recall | balanced acc. | top-1 | Δ minority vs best baseline | worst seed | seeds better | Δ majority |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for k, s in ks.items():
            for a, st in s["arms"].items():
                name = f"**{a}**" if a == s["best_baseline"] else a
                cells = [_ms(st[m]) for m in METRICS]
                if "diff_minority_recall" in st and a != s["best_baseline"]:
                    dm = np.array(st["diff_minority_recall"]); dj = st["diff_majority_recall"]
                    cells += [_ms(dm), f"{100 * dm.min():+.1f}", f"{int((dm > 0).sum())}/{len(dm)}", _ms(dj)]
                else: cells += ["(best)" if a == s["best_baseline"] else "", "", "", ""]
                out.append(f"| {'full' if k == 'all' else k} | {name} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("Recall and accuracy in %, mean ± sample std over seeds; Δ = the paired per-seed difference against "
               "the best baseline (bold: the baseline arm with the highest mean minority recall at that k); "
               "'full' = trained on the unreduced training split (upper bound), minority classes as for k."
               + "".join(f" {d}: a seed is one (validation fold, seed) pair, {len(di['validation_folds'])} folds holding out subjects "
                         + ", ".join("/".join(map(str, f)) for f in di["validation_folds"]) + "." for d, di in info.items()
                         if len(di.get("validation_folds", ())) > 1) + "\n")
    return "\n".join(out)


# ---------------------------------------------------------------- main
def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--datasets", default="msr_action3d,utkinect", help="comma-separated, from: " + ", ".join(DATASETS))
    ap.add_argument("--data", default=str(SHARED), help="the folder holding the dataset folders")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    ap.add_argument("--k", default="1,2,3", help="training clips kept per minority class")
    ap.add_argument("--minority", default="", help="override classes reduced per dataset, e.g. msr_action3d=5,utkinect=3")
    ap.add_argument("--arms", default=",".join(MAIN_ARMS), help="comma-separated (default: the main table's arms), from: " + ", ".join(ARMS))
    ap.add_argument("--full-arms", default="none,classic", help="arms also trained on the full training split (upper bound); empty: none")
    ap.add_argument("--model", default="tcn", help="tcn or stgcn (autopose.recognize.MODELS)")
    ap.add_argument("--model-kw", type=json.loads, default={},
                    help='the recognizer\'s architecture options other than its defaults, as JSON, e.g. \'{"adaptive": false}\' for the ST-GCN')
    ap.add_argument("--steps", type=int, default=1000, help="optimiser steps per run (whatever the training set size)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--T", type=int, default=32, help="frames per clip after resampling")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per run")
    ap.add_argument("--protocol", default="test", choices=("test", "val"),
                    help="test: train on the training subjects, test on the test subjects; val: tune without the test subjects "
                         "(train on the training subjects but the last two, validate on those two)")
    ap.add_argument("--folds", type=int, default=1,
                    help="with --protocol val: the validation folds 0..N-1, each holding out another two of the training subjects "
                         "(fold 0: the last two; 10 for five training subjects)")
    ap.add_argument("--kinematic", type=json.loads, default={},
                    help='KinematicAugment parameters other than its defaults, as JSON, e.g. \'{"angle_deg": 12}\' (for tuning '
                         'with --protocol val); the arms with the classic augmentation keep yaw_deg=0 and crop=None')
    ap.add_argument("--resume", action="store_true", help="keep the finished runs of an interrupted invocation (<out>.partial.jsonl)")
    ap.add_argument("--quick", action="store_true", help="2 seeds, k=1, 300 steps, full-data arm 'classic' only: a smoke run in minutes")
    ap.add_argument("--out", default="", help="output prefix (default bench/results/imbalance, or imbalance_quick with --quick)")
    a = ap.parse_args(argv)
    if a.quick: a.seeds, a.k, a.steps, a.full_arms = 2, "1", 300, "classic"
    a.out = a.out or str(ROOT / "bench" / "results" / ("imbalance" + ("_val" if a.protocol == "val" else "") + ("_quick" if a.quick else "")))
    a.datasets = [d for d in a.datasets.split(",") if d]
    a.arms = [x for x in a.arms.split(",") if x]
    a.full_arms = [x for x in a.full_arms.split(",") if x]
    a.k = [int(v) for v in a.k.split(",") if v]
    if a.folds < 1 or (a.folds > 1 and a.protocol != "val"): ap.error(f"--folds: expected 1, or more with --protocol val, got {a.folds}")
    for name, got, known in (("datasets", a.datasets, DATASETS), ("arms", a.arms + a.full_arms, ARMS)):
        bad = [x for x in got if x not in known]
        if bad: ap.error(f"--{name}: unknown {bad}; known: {', '.join(known)}")
    try: KinematicAugment("ntu25", **a.kinematic)
    except (TypeError, ValueError) as e: ap.error(f"--kinematic: {e}")
    try: build_model(a.model, "ntu25", 2, **a.model_kw)
    except (KeyError, TypeError, ValueError) as e: ap.error(f"--model / --model-kw: {e}")
    a.n_minority = {d: DATASETS[d].n_minority for d in a.datasets}
    for kv in filter(None, a.minority.split(",")):
        d, n = kv.split("="); a.n_minority[d] = int(n)
    return a


def jobs_of(a) -> list[dict]:
    common = dict(data=a.data, model=a.model, model_kw=a.model_kw, steps=a.steps, T=a.T, device=a.device, batch_size=a.batch_size, threads=a.threads,
                  protocol=a.protocol, kinematic=a.kinematic)
    out = []
    for d in a.datasets:
        for fold in range(a.folds):
            for seed in range(a.seeds):
                for k in a.k:
                    out += [common | dict(dataset=d, n_minority=a.n_minority[d], seed=seed, k=k, arm=x, fold=fold) for x in a.arms]
                out += [common | dict(dataset=d, n_minority=a.n_minority[d], seed=seed, k=None, arm=x, fold=fold) for x in a.full_arms]
    return out


def main(argv=None):
    a = parse(argv)
    settings = {k: v for k, v in vars(a).items() if k not in ("data", "resume")} | {"reposing": reposing(a.kinematic)}
    out_path = Path(a.out).resolve()
    settings["out"] = str(out_path.relative_to(ROOT)) if out_path.is_relative_to(ROOT) else out_path.name
    import torch
    torch.set_num_threads(a.threads)                 # as in every run, so that the machine line says what the runs use
    mach = machine()
    print(mach)
    print("settings: " + json.dumps(settings))
    info = {}
    for d in a.datasets:
        ds = load(d, a.data)
        tr, te = ds.split("xsub_train"), ds.split("xsub_test")
        if a.protocol == "val":
            folds = validation_folds(tr.subjects.tolist())
            if a.folds > len(folds): sys.exit(f"--folds: {d} has {len(folds)} validation folds, asked for {a.folds}")
            tr, te = validation_split(tr)
        info[d] = {"classes": ds.num_classes, "n_train": len(tr), "n_test": len(te), "n_minority": a.n_minority[d],
                   "train_subjects": sorted(set(tr.subjects.tolist())), "test_subjects": sorted(set(te.subjects.tolist())),
                   **({"validation_folds": [list(f) for f in folds[:a.folds]]} if a.protocol == "val" else {}),
                   "minority_classes": {s: [ds.class_names[c] for c in make_imbalanced(tr, a.n_minority[d], 1, seed=s)[1]] for s in range(a.seeds)}}
        print(f"{d}: {len(ds)} clips, {ds.num_classes} classes, train subjects {info[d]['train_subjects']} ({len(tr)} clips), "
              f"test subjects {info[d]['test_subjects']} ({len(te)} clips)")
    jobs, out = jobs_of(a), Path(a.out)
    partial = out.with_suffix(".partial.jsonl")      # every finished run, appended as it finishes
    done = {}
    if a.resume and partial.is_file():
        done = {r["key"]: r for r in map(json.loads, partial.read_text().splitlines()) if r.get("key")}
    elif partial.is_file(): partial.unlink()
    todo = [j for j in jobs if job_key(j) not in done]
    print(f"{len(jobs)} runs ({a.model}, {a.steps} steps each, {a.jobs} in parallel)"
          + (f"; {len(jobs) - len(todo)} already done in {partial.name}" if done else ""), flush=True)
    t0 = time.perf_counter()
    partial.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "a") as log, contextlib.ExitStack() as stack:
        if a.jobs > 1: results = stack.enter_context(ProcessPoolExecutor(a.jobs, mp_context=get_context("spawn"))).map(run_one, todo)
        else: results = map(run_one, todo)
        for i, r in enumerate(results):
            done[r["key"]] = r; log.write(json.dumps(r) + "\n"); log.flush()
            _progress(i, len(todo), r, t0)
    runs = [done[job_key(j)] for j in jobs]
    total = time.perf_counter() - t0
    summary = summarise(runs, list(dict.fromkeys(a.arms + a.full_arms)))
    tg = targets(summary)
    md = (f"# Imbalance benchmark{' (quick)' if a.quick else ''}\n\n{mach}\n\nsettings: `{json.dumps(settings)}`\n\n"
          f"{len(todo)} of {len(runs)} runs trained by this invocation in {total / 60:.1f} min\n\n" + markdown(summary, info) + "\n" + "\n".join(f"- {t}" for t in tg) + "\n")
    with atomic_write(out.with_suffix(".json"), "w") as f:
        json.dump({"machine": mach, "settings": settings, "datasets": info, "wall_s": total, "runs": runs,
                   "summary": summary, "targets": tg}, f, indent=1)
    with atomic_write(out.with_suffix(".md"), "w") as f: f.write(md)
    partial.unlink()
    print("\n" + markdown(summary, info)); print("\n".join(tg))
    print(f"\n{len(todo)} of {len(runs)} runs trained by this invocation in {total / 60:.1f} min; wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


def _progress(i, n, r, t0):
    print(f"[{i + 1}/{n}] {r['dataset']}{' fold %d' % r['fold'] if r.get('fold') else ''} seed {r['seed']} k {r['k'] if r['k'] is not None else 'full'} {r['arm']}: "
          f"minority {100 * r['minority_recall']:.1f} majority {100 * r['majority_recall']:.1f} top-1 {100 * r['top1']:.1f} "
          f"({r['wall_s']:.0f} s; {(time.perf_counter() - t0) / 60:.1f} min so far)", flush=True)


if __name__ == "__main__":
    main()
