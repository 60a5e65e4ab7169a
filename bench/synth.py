"""Throughput of synthesis, side by side with SynthDa's arithmetic on the same pairs, in one run.

    python bench/synth.py [--pairs 1024] [--batch 128] [--frames 64] [--repeat 3] [--workers 2]

Clips: procedural Kinect v2 motions (25 joints, 64 frames at 30 fps, 1 cm joint jitter like a tracker's), turned
into Motions once (inverse kinematics is not timed: a dataset's real clips are converted once and reused).
Rows, all on the same pairs:
  - autopose, full path: DTW alignment + rotation-space mix + variation (time map, amplitude, mirror (half the
    clips), view, body shape, joint-angle noise) + forward kinematics + validity report, through `autopose.synth.synth_batch`;
  - its parts (DTW alone; the per-clip API `mix` -> `vary` -> `validity_report`, for scale);
  - `synthesize_clip`, one clip at a time, as `synthesize` / `autopose.augment` run it on real clips of varying
    lengths (each clip drawn from its own seed, retried when invalid): the throughput a user of the API sees;
  - SynthDa's arithmetic (linear time stretch + P_r + 0.5 (wA P_r - wB P_s) on joint positions): as its code
    does it (scipy interp1d per joint and axis), per pair vectorised, and over the whole batch at once;
  - dtaidistance's C DTW (path per pair), when it is importable, for the alignment choice.
"""
import argparse, os, sys, time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # one BLAS thread per process: two processes share the 2 cores

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import best_of, machine  # noqa: E402
from autopose.motion import Motion  # noqa: E402
from autopose.align import dtw_align, pose_descriptor  # noqa: E402
from autopose.synth import (Source, mix, random_variation, synth_batch, synthda_mix, synthda_resample,  # noqa: E402
                            synthesize_clip, vary)
from autopose.validity import floor_height, validity_report  # noqa: E402
from autopose.testing import ACTIONS, procedural_motion, random_subject  # noqa: E402


def clips(n, frames, seed):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        s = procedural_motion(ACTIONS[k % len(ACTIONS)], joint_set="ntu25", subject=random_subject(int(rng.integers(1e6))),
                              fps=30.0, duration=frames / 30.0, rng=int(rng.integers(1e6)), place=True)
        s = s.replace(xyz=s.xyz + rng.normal(0, 0.01, s.xyz.shape))
        out.append(Motion.from_sequence(s))
    return out


def draws(A, n, frames, seed):
    "n same-action pairs (clip k is action k mod 10), weights and variations with one output length."
    rng = np.random.default_rng(seed)
    ia = rng.integers(len(A), size=n)
    ib = (ia % len(ACTIONS) + len(ACTIONS) * rng.integers(len(A) // len(ACTIONS), size=n)) % len(A)
    w = rng.uniform(0.2, 0.8, n)
    keep = int(frames * 0.75)
    params = []
    for k in range(n):
        p = random_variation(rng, frames, {"mirror": 0.5})   # every variation exercised: half the clips mirrored (off by default)
        p["frames"] = keep
        p["start"] = float(rng.uniform(0, (frames - 1) - (keep - 1) * p["speed"]))
        params.append(p)
    return ia, ib, w, params


def synthda_as_written(Pr, Ps, wA):
    "SynthDa's arithmetic as its code does it: scipy interp1d per joint and axis, then the formula with its norm/unit steps."
    from scipy.interpolate import interp1d
    T, J, D = Ps.shape
    new = np.empty((len(Pr), J, D))
    for j in range(J):
        for d in range(D):
            new[:, j, d] = interp1d(np.arange(T), Ps[:, j, d], kind="linear", fill_value="extrapolate")(np.linspace(0, T - 1, len(Pr)))
    Dv = wA * Pr - (1 - wA) * new
    dn = np.linalg.norm(Dv, axis=1, keepdims=True)
    return Pr + 0.5 * dn * (Dv / np.where(dn == 0, 1, dn))


def _worker(args_tuple, barrier, queue):
    "One process: build its clips and draws, wait for the others, then time the full path over its share of pairs."
    frames, n_clips, pairs, batch, seed = args_tuple
    A = clips(n_clips, frames, seed)
    fl = np.array([floor_height(m.positions(), m.joint_set) for m in A])
    ia, ib, w, params = draws(A, pairs, frames, seed + 1)
    run = lambda: [synth_batch([A[i] for i in ia[s]], [A[i] for i in ib[s]], w[s], params[s], fl[ia[s]], dtype=np.float32)
                   for s in (slice(k, k + batch) for k in range(0, pairs, batch))]
    run()                                                   # warm-up
    barrier.wait(); t = time.perf_counter(); run(); queue.put((pairs, time.perf_counter() - t))


def parallel(workers, frames, n_clips, pairs, batch):
    "Pairs per second of `workers` processes running the full path at the same time (timed after a common start)."
    import multiprocessing as mp
    ctx = mp.get_context("fork"); barrier, queue = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=((frames, n_clips, pairs // workers, batch, 100 + k), barrier, queue)) for k in range(workers)]
    for p in procs: p.start()
    res = [queue.get() for _ in procs]
    for p in procs: p.join()
    return sum(r[0] for r in res) / max(r[1] for r in res)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--clips", type=int, default=40, help="distinct source clips the pairs are drawn from")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="processes for the full path at once (the target machine has 2 cores)")
    a = ap.parse_args()
    print(machine())
    print(f"settings: pairs={a.pairs} batch={a.batch} frames={a.frames} joints=25 (ntu25) clips={a.clips} repeat={a.repeat} (best of) "
          f"workers={a.workers} float32 OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    A = clips(a.clips, a.frames, 0)
    P = [m.positions() for m in A]
    fl = np.array([floor_height(p[None], A[0].joint_set)[0] for p in P])
    ia, ib, w, params = draws(A, a.pairs, a.frames, 1)
    n = a.pairs
    rows = []

    def full():
        for s in range(0, n, a.batch):
            sl = slice(s, s + a.batch)
            out = synth_batch([A[i] for i in ia[sl]], [A[i] for i in ib[sl]], w[sl], params[sl], fl[ia[sl]], dtype=np.float32)
        return out
    out = full()
    bone = float(np.abs(np.linalg.norm(out["positions"][:, :, A[0].joint_set.bones[:, 0]] - out["positions"][:, :, A[0].joint_set.bones[:, 1]], axis=-1)
                        - out["lengths"][:, None, A[0].joint_set.bones[:, 0]]).max())
    t_full = best_of(full, a.repeat)
    rows.append(("autopose full path (align + mix + vary + FK + validate), batched", n / t_full))
    desc = [pose_descriptor(np.stack([A[i].rotations for i in idx]), A[0].joint_set) for idx in (ia, ib)]
    t_dtw = best_of(lambda: [dtw_align(desc[0][s:s + a.batch], desc[1][s:s + a.batch], 0.3) for s in range(0, n, a.batch)], a.repeat)
    rows.append(("  of which DTW alignment (batched kernel, descriptors given)", n / t_dtw))
    m_per = min(n, 64)
    def per_clip():
        for k in range(m_per):
            v = vary(mix([A[ia[k]], A[ib[k]]], [w[k], 1 - w[k]], floor=fl[ia[k]]), params[k], fl[ia[k]])
            validity_report(v, fl[ia[k]])
    rows.append(("autopose per-clip API (mix -> vary -> validity_report), one clip at a time", m_per / best_of(per_clip, max(1, a.repeat - 1))))
    by_action = [[Source(m, f"clip{k}", floor=float(fl[k])) for k, m in enumerate(A) if k % len(ACTIONS) == c] for c in range(len(ACTIONS))]
    m_syn = min(n, 128)
    made = []
    def one_by_one():
        made.clear()
        for k in range(m_syn): made.append(synthesize_clip(by_action[k % len(ACTIONS)], [1, k])[0] is not None)
    rows.append(("autopose synthesize_clip, one clip at a time (what synthesize / augment run; retries included)",
                 m_syn / best_of(one_by_one, max(1, a.repeat - 1))))
    m_sd = min(n, 128)
    t_sd_written = best_of(lambda: [synthda_as_written(P[ia[k]], P[ib[k]], w[k]) for k in range(m_sd)], a.repeat)
    rows.append(("SynthDa arithmetic as its code does it (interp1d per joint and axis), per pair", m_sd / t_sd_written))
    t_sd_pair = best_of(lambda: [synthda_mix(P[ia[k]], synthda_resample(P[ib[k]], a.frames), w[k]) for k in range(n)], a.repeat)
    rows.append(("SynthDa arithmetic vectorised, per pair", n / t_sd_pair))
    PA, PB = np.stack([P[i] for i in ia]), np.stack([P[i] for i in ib])
    t_sd_batch = best_of(lambda: PA + 0.5 * (w[:, None, None, None] * PA - (1 - w)[:, None, None, None] * PB), a.repeat)
    rows.append(("SynthDa arithmetic over the whole batch at once (equal lengths: no resampling)", n / t_sd_batch))
    try:
        from dtaidistance import dtw_ndim
        m_d = min(n, 128)
        win = int(np.floor(0.3 * (a.frames - 1))) + 1                   # |i - j| < win: the same band as ours (0.3) on equal lengths
        t_dd = best_of(lambda: [dtw_ndim.warping_path(desc[0][k], desc[1][k], window=win, use_c=True) for k in range(m_d)], a.repeat)
        rows.append((f"dtaidistance 2.5.1 C DTW path, per pair, same band (window={win}; descriptors given)", m_d / t_dd))
    except ImportError:
        rows.append(("dtaidistance: not installed (pip install dtaidistance==2.5.1 to compare)", float("nan")))
    if a.workers > 1:
        rows.insert(1, (f"autopose full path, {a.workers} processes at once (each timed after a common start; slowest counts)",
                        parallel(a.workers, a.frames, a.clips, a.pairs, a.batch)))
    print("\n| path | clips/s |\n|---|---:|")
    for name, r in rows: print(f"| {name} | {r:,.0f} |")
    print(f"\nfull path: {int(out['valid'].sum())}/{len(out['valid'])} clips of the last batch valid; largest bone-length deviation {bone:.1e} m")
    print(f"synthesize_clip: {sum(made)}/{len(made)} clips made (a valid clip within max_tries draws)")
    print(f"cost ratio, full path vs SynthDa: {t_full / n / (t_sd_written / m_sd):.2f}x its code as written, "
          f"{t_full / n / (t_sd_pair / n):.1f}x vectorised per pair, {t_full / n / (t_sd_batch / n):.0f}x batched")


if __name__ == "__main__":
    main()
