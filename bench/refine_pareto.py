"""A second reading of bench/refine.py's tables: is the learned refiner dominated by a tuned filter?

    python bench/refine_pareto.py [bench/results/refine.md]

bench/refine.py's verdict (unchanged, the issue's) compares the learned refiner's MPJPE with the best MPJPE of any
tuned filter and its acceleration error with the best acceleration error of any tuned filter: two different
settings. For acceleration that setting can be a filter that all but freezes its output (one-euro with
min_cutoff 0.25: MPJPE 220-280 mm on the causal CMU groups), whose acceleration error is the ground truth's own
mean |second difference|. This script reads the same tables and asks, per mode, noise preset and test group,
whether any ONE tuned filter row (each filter tuned for MPJPE and for acceleration: 8 rows, 16 on MSR Action3D
where the filters are tuned on Kinect v1 validation too) is at least as good as the learned refiner with the
group's declared weights on both metrics. It reads results; it trains and measures nothing.
"""
import re, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from refine import declared_weights, verdict_row  # noqa: E402

FILTERS = ("moving_average", "gaussian", "savgol", "one_euro")


def tables(path):
    "{(mode, preset): {group: {row name: (MPJPE, accel)}}} from the markdown of bench/refine.py."
    out, key, groups = {}, None, []
    for line in Path(path).read_text().splitlines():
        m = re.match(r"### (causal|offline), noise preset '(\w+)'", line)
        if m: key = (m.group(1), m.group(2)); continue
        if line.startswith("### "): key = None
        if key is None or not line.startswith("| ") or line.startswith("|---"): continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "method": groups = [c.split(":")[0].strip() for c in cells[2:]]; continue
        name = f"{cells[0]} ({cells[1]})" if cells[1] else cells[0]
        for g, cell in zip(groups, cells[2:]):
            nums = [float(v) for v in re.findall(r"[\d.]+", cell.split("(")[0])]
            if not nums: continue                                       # "–": the row does not apply to this group
            out.setdefault(key, {}).setdefault(g, {})[name] = (nums[0], nums[2])
    return out


def main(path="bench/results/refine.md"):
    print(f"Pareto reading of {path}: a filter row dominates when its MPJPE and its accel error are both <= the learned refiner's\n")
    for (mode, preset), groups in tables(path).items():
        for g, rows in groups.items():
            lm, la = rows[verdict_row(rows, declared_weights(g))]      # the group's declared weights, as in the verdict
            filt = {k: v for k, v in rows.items() if k.split()[0] in FILTERS}
            dom = [f"{k} {v[0]}/{v[1]}" for k, v in filt.items() if v[0] <= lm and v[1] <= la]
            print(f"- {mode} {preset} | {g}: learned {lm}/{la}; dominated by: {', '.join(dom) or 'none'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
