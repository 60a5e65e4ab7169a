import os, pytest
from pathlib import Path
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
@pytest.fixture(scope="session")
def shared_data():
    if not SHARED.is_dir():
        if os.environ.get("CI") == "true": pytest.fail(f"missing fixture: {SHARED} (CI requires ../shared/data)")
        pytest.skip(f"{SHARED} not present")
    return SHARED
