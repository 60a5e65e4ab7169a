"""Check that the notebooks are clean and the library is in sync with them.

Runs `nbdev_export` and `nbdev_clean` and fails, naming the files, if either changed anything
under nbs/ or autopose/. Works on a dirty working tree too: it compares file contents before and
after, not against git.
"""
import hashlib, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def snapshot():
    files = [*ROOT.glob("nbs/**/*.ipynb"), *ROOT.glob("autopose/**/*.py")]
    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
            if ".ipynb_checkpoints" not in p.parts}


def changed(before, after):
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def main():
    failures = []
    for cmd, what in [("nbdev_export", "the library is out of sync with the notebooks: run nbdev_export and commit"),
                      ("nbdev_clean", "notebooks are not clean: run nbdev_clean and commit")]:
        before = snapshot()
        subprocess.run([str(BIN / cmd)], cwd=ROOT, check=True)
        diff = changed(before, snapshot())
        if diff:
            failures.append(f"{cmd} changed {len(diff)} file(s): {', '.join(diff)}\n  -> {what}")
    if failures:
        sys.exit("sync check FAILED\n" + "\n".join(failures))
    print("sync check: nbdev_export and nbdev_clean changed nothing")


if __name__ == "__main__":
    main()
