import importlib.util, os, sys, pytest
from pathlib import Path
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
@pytest.fixture(scope="session")
def shared_data():
    if not SHARED.is_dir():
        if os.environ.get("CI") == "true": pytest.fail(f"missing fixture: {SHARED} (CI requires ../shared/data)")
        pytest.skip(f"{SHARED} not present")
    return SHARED


def load_bench(name):
    "The script bench/<name>.py as a module (registered as bench_<name>: dataclasses look their module up in sys.modules)."
    spec = importlib.util.spec_from_file_location(f"bench_{name}", Path(__file__).resolve().parents[1] / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod

@pytest.fixture(scope="session")
def bench():
    "load_bench: a bench script by name."
    return load_bench
