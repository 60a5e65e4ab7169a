"""Throughput of the rotation toolkit, side by side with its references in one run.

    python bench/rotations.py [--frames 4096] [--joints 24] [--repeat 5]

Rows: conversions through autopose.rotations (numpy -> scipy, torch -> roma) against calling scipy /
roma directly on the same arrays (the dispatch overhead), and forward kinematics (vectorised over
frames, one step per tree depth) against a naive loop over frames and joints.
"""
import argparse, sys
from pathlib import Path

import numpy as np
import roma
import torch
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).parent))
from _machine import best_of, machine  # noqa: E402
from autopose import rotations as R  # noqa: E402


def naive_fk(L, off, parents):
    T, J = L.shape[:2]
    P, G = np.zeros((T, J, 3)), np.zeros((T, J, 3, 3))
    for t in range(T):
        for j in range(J):  # parents precede children in the SMPL order
            p = parents[j]
            if p < 0: G[t, j], P[t, j] = L[t, j], off[j]
            else: G[t, j], P[t, j] = G[t, p] @ L[t, j], P[t, p] + G[t, p] @ off[j]
    return P, G


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=4096)
    ap.add_argument("--joints", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    print(machine())
    print(f"settings: frames={a.frames} joints={a.joints} repeat={a.repeat} (best of), float64 numpy / float32 torch")
    rng = np.random.default_rng(0)
    n = a.frames * a.joints
    v = rng.normal(size=(a.frames, a.joints, 3))
    vt = torch.from_numpy(v).float()
    rows = []
    def row(name, ours, ref, items):
        t_o, t_r = best_of(ours, a.repeat), best_of(ref, a.repeat)
        rows.append((name, items / t_o, items / t_r, t_o / t_r))
    row("rotvec_to_rotmat numpy vs scipy", lambda: R.rotvec_to_rotmat(v),
        lambda: Rotation.from_rotvec(v.reshape(-1, 3)).as_matrix().reshape(*v.shape, 3), n)
    row("rotvec_to_rotmat torch vs roma", lambda: R.rotvec_to_rotmat(vt), lambda: roma.rotvec_to_rotmat(vt), n)
    M = R.rotvec_to_rotmat(v); Mt = torch.from_numpy(M).float()
    row("rotmat_to_unitquat numpy vs scipy", lambda: R.rotmat_to_unitquat(M),
        lambda: Rotation.from_matrix(M.reshape(-1, 3, 3)).as_quat().reshape(*v.shape[:-1], 4), n)
    row("rot6d_to_rotmat torch vs roma", lambda: R.rot6d_to_rotmat(R.rotmat_to_rot6d(Mt)),
        lambda: roma.special_gramschmidt(Mt[..., :2]), n)
    parents = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21][:a.joints]
    off = rng.normal(size=(len(parents), 3)) * 0.1
    L = M[:, :len(parents)]
    P, _ = R.forward_kinematics(L, off, parents)
    Pn, _ = naive_fk(L[:64], off, parents)
    np.testing.assert_allclose(P[:64], Pn, atol=1e-12)  # same answer before timing
    frames_naive = max(64, a.frames // 16)
    t_o = best_of(lambda: R.forward_kinematics(L, off, parents), a.repeat)
    t_r = best_of(lambda: naive_fk(L[:frames_naive], off, parents), max(1, a.repeat // 2))
    rows.append(("forward_kinematics numpy vs naive loop", a.frames / t_o, frames_naive / t_r,
                 (t_o / a.frames) / (t_r / frames_naive)))
    Lt = torch.from_numpy(L).float(); offt = torch.from_numpy(off).float()
    t_t = best_of(lambda: R.forward_kinematics(Lt, offt, parents), a.repeat)
    rows.append(("forward_kinematics torch vs naive loop", a.frames / t_t, frames_naive / t_r,
                 (t_t / a.frames) / (t_r / frames_naive)))
    print("\n| path | ours (items/s) | reference (items/s) | time ratio ours/ref |\n|---|---:|---:|---:|")
    for name, o, r, ratio in rows:
        unit = "frames" if "kinematics" in name else "rotations"
        print(f"| {name} | {o:,.0f} {unit}/s | {r:,.0f} {unit}/s | {ratio:.2f} |")


if __name__ == "__main__":
    main()
