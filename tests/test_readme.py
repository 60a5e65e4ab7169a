"""The README's `autopose.augment` example, run as written on MSR Action3D's training split."""
import re
from pathlib import Path

import numpy as np

from autopose.datasets import load_msr_action3d

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(after: str) -> str:
    "the first ```python block after the heading `after`"
    text = README.read_text()
    return re.search(r"```python\n(.*?)```", text[text.index(after):], re.S).group(1)


def test_augment_example_runs_on_msr(shared_data, capsys):
    train = load_msr_action3d(shared_data / "msr_action3d").split("xsub_train")
    ns = {"seqs": [s.xyz for s in train.sequences], "labels": train.labels}
    code = readme_block("## Use it in your training code")
    assert code.count("\n") <= 12, "the README promises a ten-line example"
    exec(compile(code, "README.md", "exec"), ns)
    counts = np.bincount(train.labels)
    assert np.bincount(ns["train_labels"]).tolist() == [counts.max()] * len(counts)   # every class at the largest count
    assert len(ns["train_seqs"]) == len(ns["train_labels"]) == len(train) + len(ns["new"])
    for x, l, src in zip(ns["new"], ns["new_labels"], ns["sources"]):
        assert x.shape[1:] == (20, 3) and np.isfinite(x).all() and src and all(train.labels[i] == l for i in src)
    assert "synthetic clips; the first was made from clips" in capsys.readouterr().out


def test_kinematic_example_runs_on_msr(shared_data):
    """the README's on-the-fly block, on a batch of MSR Action3D clips as a recognizer sees them: same shape, rigid bones"""
    from autopose.recognize import prepare_clips
    train = load_msr_action3d(shared_data / "msr_action3d").split("xsub_train")
    xb = prepare_clips(train.sequences[:32])
    ns = {"xb": xb}
    exec(compile("import numpy as np\nimport autopose\n" + readme_block("The synthetic clips are a fixed pool"), "README.md", "exec"), ns)
    out, js = ns["xb"], train.joint_set
    assert out.shape == xb.shape and out.dtype == np.float32 and not np.allclose(out, xb, atol=0.01)
    L = np.linalg.norm(out[:, :, js.bones[:, 0]] - out[:, :, js.bones[:, 1]], axis=-1)
    assert L.std(1).max() < 1e-5
