"""Can any causal estimator reach the causal bars? The Kalman filter's whole trade-off against them, on validation data.

    python bench/refine_causal_bound.py [--seeds 3] [--out bench/results/refine_causal_bound.md]

The causal target of bench/refine.py is to beat the best causal filter on MPJPE and the best causal filter on
acceleration error at once. On the validation clip of bench/tune_refiner_mocap.py (CMU 131_02 at 60, 30 and
15 fps in 3D and 30 fps in 2D, never a test clip), no causal refiner trained there wins a cell
(bench/results/refiner_mocap_tuning_causal.md). This script asks whether the bars are within reach of the
standard causal estimator for noisy motion: a steady-state Kalman filter per coordinate, with a constant-velocity
or a constant-acceleration motion model (white jerk), over the whole range of its one setting (process noise over
measurement noise, 10^-9 to 10^2). Each setting is one point of its MPJPE / acceleration-error trade-off; a cell
is reachable for it when one point is below both bars. Same noisy inputs as the tuning (the presets of
autopose.refine, gaps bridged causally, the same noise draws), same oracle (every setting of bench/refine.py's
causal filter grids). The last column places the tuning round's chosen causal refiner (told the noise; its scores
are read from that round's table, same clip and draws) against the same trade-off: is some Kalman setting at least
as good on both metrics?
"""
import argparse, functools, sys, time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from tune_refiner_mocap import oracle, validation_groups  # noqa: E402

RATIOS = 10.0 ** np.arange(-9, 2.5, 0.5)   # process noise over measurement noise, per frame
MODELS = ("velocity", "acceleration")
OUT = Path(__file__).parent / "results" / "refine_causal_bound.md"
TUNING = Path(__file__).parent / "results" / "refiner_mocap_tuning_causal.md"


def chosen_scores(table: Path = TUNING) -> tuple[str, dict]:
    "The tuning round's chosen causal refiner, told the noise: its name and {(group, preset): (MPJPE, accel)}."
    text = table.read_text().splitlines()
    name = next(l[len("Chosen: "):] for l in text if l.startswith("Chosen: "))
    head = next(l for l in text if l.startswith("| group |")).strip("|").split("|")
    col = [c.strip() for c in head].index(f"{name}, told")
    out = {}
    for l in text:
        cells = [c.strip() for c in l.strip().strip("|").split("|")]
        if l.startswith("| CMU"):
            m, acc = cells[col].split("/")
            out[cells[0], cells[1]] = (float(m), float(acc.split()[0]))
    return name, out


@functools.lru_cache(maxsize=None)
def kalman_gain(model: str, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    "The transition matrix and the steady-state gain of a per-coordinate Kalman filter (time step 1 frame)."
    if model == "velocity":
        F = np.array([[1.0, 1], [0, 1]]); Q = ratio * np.array([[1 / 3, 1 / 2], [1 / 2, 1]])
    else:
        F = np.array([[1.0, 1, 0.5], [0, 1, 1], [0, 0, 1]])
        Q = ratio * np.array([[1 / 20, 1 / 8, 1 / 6], [1 / 8, 1 / 3, 1 / 2], [1 / 6, 1 / 2, 1]])
    n = len(F); H = np.eye(1, n); P = np.eye(n)
    for _ in range(100_000):                     # the Riccati recursion to its fixed point
        Pp = F @ P @ F.T + Q
        K = Pp @ H.T / (H @ Pp @ H.T + 1.0)
        P_new = (np.eye(n) - K @ H) @ Pp
        if np.allclose(P_new, P, rtol=1e-12, atol=0): break
        P = P_new
    return F, K[:, 0]


def kalman(x: np.ndarray, model: str, ratio: float) -> np.ndarray:
    "Causal: each output frame from the frames up to it. x (T, J, D) -> (T, J, D)."
    F, K = kalman_gain(model, ratio)
    s = np.zeros((len(K),) + x.shape[1:]); s[0] = x[0]
    y = np.empty_like(x); y[0] = x[0]
    for t in range(1, len(x)):
        p = np.tensordot(F, s, 1)
        s = p + K[:, None, None] * (x[t] - p[0])[None]
        y[t] = s[0]
    return y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="noise draws per validation clip")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    from autopose import refine as R
    t0, seeds = time.time(), tuple(range(a.seeds))
    head = [machine(), f"settings: seeds {a.seeds}, process/measurement noise ratios 1e-9 to 1e2 (half decades), "
                       "scored on CMU 131_02 (bench/tune_refiner_mocap.py's validation clip)"]
    print("\n".join(head), flush=True)
    name, learned = chosen_scores()
    lines = head + ["", "| group | preset | best causal filter MPJPE | best causal filter accel | "
                    + " | ".join(f"Kalman ({m}): lowest accel at MPJPE ≤ bar; lowest MPJPE at accel ≤ bar" for m in MODELS)
                    + f" | bars reachable by a Kalman setting | the tuning's choice ({name}, told): MPJPE / accel; "
                      "a Kalman setting as good on both? |", "|---|---|---:|---:|" + "---|" * len(MODELS) + "---|---|"]
    reach = beaten = 0
    for val in validation_groups():
        for preset in R.NOISE_PRESETS:
            bm, ba = oracle(val, preset, seeds, True)
            mb, ab = bm[1][0], ba[1][2]
            (lm, la), cells, ok, dom = learned[val.name, preset], [], False, False
            lowest = lambda v, f: format(min(v), f) if v else "none"
            for m in MODELS:
                pts = [val.score(lambda x, m=m, r=r: kalman(x, m, r), preset, seeds, True) for r in RATIOS]
                dom |= any(p[0] <= lm and p[2] <= la for p in pts)
                ok |= any(p[0] < mb and p[2] < ab for p in pts)
                cells.append(f"{lowest([p[2] for p in pts if p[0] <= mb], '.2f')}; {lowest([p[0] for p in pts if p[2] <= ab], '.1f')}")
            reach += ok; beaten += dom
            lines.append(f"| {val.name} | {preset} | {mb:.1f} ({bm[0]}) | {ab:.2f} ({ba[0]}) | " + " | ".join(cells)
                         + f" | {'yes' if ok else 'no'} | {lm:.1f} / {la:.2f}; {'yes' if dom else 'no'} |")
            print(lines[-1], flush=True)
    n = len(validation_groups()) * len(R.NOISE_PRESETS)
    lines += ["", "MPJPE mm (px in 2D) / acceleration error mm/frame² (px/frame²), pooled over the clip's joint-frames. "
              "'none': no setting of the Kalman filter gets under that bar at all.", "",
              f"Cells where some Kalman setting beats both bars: {reach}/{n}",
              f"Cells where some Kalman setting is as good as the tuning's chosen causal refiner on both metrics: {beaten}/{n}",
              "", f"{time.time() - t0:.0f} s"]
    a.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-4:]))


if __name__ == "__main__":
    main()
