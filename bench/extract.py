"""Pose extraction from video: speed beside raw MediaPipe, batch speed-up, and accuracy against the Kinect.

    python bench/extract.py [--repeat 3] [--copies 12] [--workers 2] [--figure overlay.png]

On the NTU RGB+D clip in ../shared/data/ntu_video (1920x1080, 30 fps, 103 frames, one person):
1. frames/s of `extract_video` (person="largest", the default, and person="first") beside the loop a user
   writes around MediaPipe (decode, BGR->RGB, Pose.process in video mode, complexity 1), interleaved,
   best of --repeat; the overhead is the extra time per frame of the extraction path.
2. `extract_folder` over --copies links to the clip: serially in this process, serially in one freshly spawned
   process (paying the imports a pool worker pays), and with --workers spawned workers. CPU seconds include the
   workers' (counted once they exit). Each worker pays ~1-4 s of start-up (imports, the model) before its first
   video, so a folder of a few videos shows that start-up more than the parallel work: 12 is the default.
3. 2D pixel error, PCK and 3D error after similarity alignment against the Kinect v2 skeleton of the same
   frames: the 12 limb joints as MediaPipe labels them and with mirrored=True (NTU videos are mirror
   images), then every ntu25 joint (copied or derived by autopose.skeletons' recipes) with mirrored=True.
"""
import argparse, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from autopose.extract import extract_folder, extract_video, keypoint_errors, mirror_labels, read_frames  # noqa: E402
from autopose.ntu import read_ntu_skeleton  # noqa: E402
from autopose.skeletons import convert, joint_map  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ntu_video"
LIMBS = [f"{s}_{p}" for p in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle") for s in ("left", "right")]


def raw_mediapipe(video):
    "The plain loop: what extract_video is measured against. Returns the frame count."
    import cv2, mediapipe as mp
    pose, cap, n = mp.solutions.pose.Pose(model_complexity=1), cv2.VideoCapture(str(video)), 0
    while True:
        ok, frame = cap.read()
        if not ok: break
        pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)); n += 1
    pose.close(); cap.release()
    return n


def timed(f):
    "(wall seconds, CPU seconds of this process, all its threads) of one call."
    w, c = time.perf_counter(), time.process_time()
    f()
    return time.perf_counter() - w, time.process_time() - c


def speed(video, repeat):
    T = raw_mediapipe(video)
    runs = {"raw MediaPipe loop": lambda: raw_mediapipe(video),
            'extract_video(person="largest")': lambda: extract_video(video),
            'extract_video(person="first")': lambda: extract_video(video, person="first")}
    wall, cpu = {k: float("inf") for k in runs}, {k: float("inf") for k in runs}
    for _ in range(repeat):                      # interleaved, so that load from elsewhere hits all alike
        for k, f in runs.items():
            w, c = timed(f); wall[k], cpu[k] = min(wall[k], w), min(cpu[k], c)
    print(f"\n## Speed on one video ({T} frames, 1920x1080), best of {repeat} interleaved runs; load average {load()}\n")
    print("CPU time counts every thread of this process: the overhead measure that load from other processes does not blur.\n")
    print("| path | frames/s (wall) | wall overhead | CPU ms/frame | CPU overhead |\n|---|---:|---:|---:|---:|")
    raw = "raw MediaPipe loop"
    for k in runs:
        ow = "-" if k == raw else f"{100 * (wall[k] / wall[raw] - 1):+.1f} %"
        oc = "-" if k == raw else f"{100 * (cpu[k] / cpu[raw] - 1):+.1f} %"
        print(f"| {k} | {T / wall[k]:.1f} | {ow} | {1000 * cpu[k] / T:.1f} | {oc} |")


def load():
    import os
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def _cpu():
    "CPU seconds of this process and of its finished children (pool workers are counted once they exit)."
    import resource
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _serial_in_fresh_process(src, out):
    "extract_folder(workers=1) in one spawned process: the cold start a pool worker pays, for a fair baseline."
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as ex:
        return ex.submit(extract_folder, src, out, workers=1, progress=False).result()


def batch(video, copies, workers):
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "videos"; src.mkdir()
        for i in range(copies): (src / f"clip{i:02d}.avi").symlink_to(video)
        runs = {"1, in this process (modules already imported)": lambda o: extract_folder(src, o, workers=1, progress=False),
                "1, a fresh spawned process (imports included)": lambda o: _serial_in_fresh_process(src, o),
                f"{workers} spawned workers": lambda o: extract_folder(src, o, workers=workers, progress=False)}
        times = {}
        for k, (name, f) in enumerate(runs.items()):
            out = Path(d) / f"out{k}"
            t, c = time.perf_counter(), _cpu()
            rep = f(out)
            times[name] = (time.perf_counter() - t, _cpu() - c)
            assert len(rep["done"]) == copies and not rep["failed"], rep
        t = time.perf_counter(); rep = extract_folder(src, out, workers=workers, progress=False)
        assert len(rep["skipped"]) == copies, rep
        resume = time.perf_counter() - t
    print(f"\n## Folder batch: {copies} videos x 103 frames; load average after {load()}\n")
    print("| processes | seconds | videos/s | CPU s per video | speed-up over in-process | over a fresh process |")
    print("|---|---:|---:|---:|---:|---:|")
    base, cold = list(times.values())[:2]
    for name, (t, c) in times.items():
        print(f"| {name} | {t:.1f} | {copies / t:.2f} | {c / copies:.1f} | {base[0] / t:.2f}x | {cold[0] / t:.2f}x |")
    print(f"\nre-run with every output present (all skipped): {resume:.2f} s")


def row(name, e):
    return (f"| {name} | {e['px_median']:.1f} | {e['px_mean']:.1f} | {e['pck@0.1']:.2f} | {e['pck@0.2']:.2f} | "
            f"{e['mm_pa_frame']:.0f} | {e['mm_pa_clip']:.0f} |")


def accuracy(video, skeleton, figure):
    kinect = read_ntu_skeleton(skeleton).to_sequence()
    seen = extract_video(video)
    fixed = mirror_labels(seen)
    print(f"\n## Accuracy against the Kinect v2 skeleton ({kinect.T} frames; Kinect joints not tracked are left out)\n")
    print("PCK@a: 2D error below a x the Kinect's torso length in that frame (hips' to shoulders' midpoint, px).\n")
    print("| MediaPipe labels, 12 limb joints | 2D median px | 2D mean px | PCK@0.1 | PCK@0.2 | 3D PA per frame mm | 3D PA clip mm |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row("as detected", keypoint_errors(convert(seen, "ntu25"), kinect, joints=LIMBS)))
    print(row("mirrored=True", keypoint_errors(convert(fixed, "ntu25"), kinect, joints=LIMBS)))
    print(row("mirrored=True, Kinect 'tracked' joints only", keypoint_errors(convert(fixed, "ntu25"), kinect, joints=LIMBS, min_ref_conf=1.0)))
    ntu = convert(fixed, "ntu25")
    e = keypoint_errors(ntu, kinect)
    approx = joint_map("mediapipe33", "ntu25").approx
    inferred = (kinect.conf < 1).mean(0)
    print("\nPer ntu25 joint, mirrored=True (3D PA per frame aligns on all 25 joints):\n")
    print("| joint | from MediaPipe | Kinect frames 'inferred' | 2D median px | 3D PA per frame mm |\n|---|---|---:|---:|---:|")
    for j, name in enumerate(kinect.joint_set.joints):
        print(f"| {name} | {'derived' if name in approx else 'copied or exact'} | {100 * inferred[j]:.0f} % | "
              f"{e['px_per_joint'][j]:.1f} | {e['mm_pa_frame_per_joint'][j]:.0f} |")
    if figure: overlay(video, kinect, ntu, figure)


def overlay(video, kinect, ntu, path):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from autopose.extract import draw_skeleton_2d
    frames = {t: f for t, f in enumerate(read_frames(video)) if t in (0, 50, 80)}
    fig, axes = plt.subplots(1, 3, figsize=(9, 4))
    for ax, (t, f) in zip(axes, frames.items()):
        ax.imshow(f[250:750, 850:1250, ::-1], extent=(850, 1250, 750, 250))
        draw_skeleton_2d(ax, kinect.xy[t], "ntu25", "C0", "Kinect v2")
        draw_skeleton_2d(ax, ntu.xy[t], "ntu25", "C1", "MediaPipe, mirrored=True")
        ax.set_title(f"frame {t}"); ax.axis("off")
    axes[0].legend(loc="lower left", fontsize=7); fig.tight_layout(); fig.savefig(path, dpi=80)
    print(f"\nfigure: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=DATA / "S001C001P001R001A001_rgb.avi")
    ap.add_argument("--skeleton", type=Path, default=DATA / "S001C001P001R001A001.skeleton")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--copies", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--figure", type=Path, default=None, help="write the overlay of both skeletons on three frames here")
    a = ap.parse_args()
    if not a.video.is_file(): sys.exit(f"{a.video}: not found (the NTU clip of ../shared/data/ntu_video)")
    import cv2, mediapipe
    print(machine())
    print(f"mediapipe {mediapipe.__version__} (solutions.pose, model_complexity=1), opencv {cv2.__version__}")
    speed(a.video, a.repeat)
    batch(a.video, a.copies, a.workers)
    accuracy(a.video, a.skeleton, a.figure)


if __name__ == "__main__":
    main()
