"""What every benchmark prints first: the machine and the software it ran on."""
import os, platform


def machine() -> str:
    import numpy, scipy, torch
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"machine: {cpu}, {os.cpu_count()} cores, GPU {gpu}; python {platform.python_version()}, "
            f"numpy {numpy.__version__}, scipy {scipy.__version__}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads); {platform.platform()}")


def best_of(f, repeat=5, number=1):
    """Best wall time of `repeat` runs of `number` calls of f (seconds per call)."""
    import time
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number): f()
        best = min(best, (time.perf_counter() - t) / number)
    return best
