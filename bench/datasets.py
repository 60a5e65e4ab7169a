"""Loading real skeleton datasets: autopose's readers beside a plain np.loadtxt loop over the same files, in one run.

    python bench/datasets.py [--data ../shared/data] [--repeat 3]

Rows, for MSR Action3D (567 files) and UTKinect-Action3D (20 recordings): the whole `load_dataset` (parse, check,
convert axes, cut/resample, build the PoseDataset with its bad-file report) and `parse_table` alone (the strict
vectorised text parser: per-line token counts, one np.fromstring, finiteness), each against `np.loadtxt` on the
same files. Best of `repeat` runs; files/s counts the files read.
"""
import argparse, sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import best_of, machine  # noqa: E402
from autopose.datasets import load_dataset, parse_table  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    data = Path(a.data)
    msr = sorted((data / "msr_action3d/real_world_coordinates").glob("a*_skeleton3D.txt"))
    utk = sorted((data / "utkinect/joints").glob("joints_s*.txt"))
    if not msr or not utk: sys.exit(f"{data}: expected msr_action3d/ and utkinect/ (see their README.txt)")
    print(machine())
    print(f"settings: data={data} repeat={a.repeat} (best of); MSR Action3D {len(msr)} files, "
          f"{sum(f.stat().st_size for f in msr) / 1e6:.1f} MB; UTKinect {len(utk)} files, {sum(f.stat().st_size for f in utk) / 1e6:.1f} MB")
    rows = []
    for name, folder, files, ncols in (("MSR Action3D", data / "msr_action3d", msr, 4), ("UTKinect", data / "utkinect", utk, 61)):
        base = best_of(lambda: [np.loadtxt(f) for f in files], a.repeat)
        full = best_of(lambda: load_dataset(folder), a.repeat)
        parse = best_of(lambda: [parse_table(f, ncols, "bench") for f in files], a.repeat)
        for f in files[:50]:                                  # same numbers before timing them
            np.testing.assert_array_equal(parse_table(f, ncols, "bench")[0], np.loadtxt(f).reshape(-1, ncols))
        ds = load_dataset(folder)
        rows.append((f"{name}: load_dataset ({len(ds)} sequences)", len(files), full, base))
        rows.append((f"{name}: parse_table only", len(files), parse, base))
    print("\n| what | files | autopose (s) | autopose files/s | np.loadtxt loop (s) | np.loadtxt files/s | time ratio autopose/loadtxt |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for what, n, t, b in rows:
        print(f"| {what} | {n} | {t:.3f} | {n / t:,.0f} | {b:.3f} | {n / b:,.0f} | {t / b:.2f} |")


if __name__ == "__main__":
    main()
