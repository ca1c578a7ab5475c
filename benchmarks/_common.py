"""Helpers shared by the benchmark scripts: machine description, peak memory, result files."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, load, Python and library versions."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    from graphrec.artifacts import environment

    env = environment()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb, "load_avg": os.getloadavg(),
            "python": platform.python_version(), "versions": env["versions"], "git_commit": env["git_commit"],
            "date": datetime.now(UTC).isoformat(timespec="seconds")}


def uptime() -> str:
    """The ``uptime`` line (load averages), recorded at the start and end of a benchmark."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def query_label(pooling: str, recent: int, decay: float) -> str:
    """How a walk model's config turns a history into a query: ``last``, or ``mean_recent 5, decay 0.25``."""
    if pooling == "last":
        return "last"
    size = f" {recent}" if pooling == "mean_recent" else ""
    return f"{pooling}{size}, decay {decay:g}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def command() -> str:
    return " ".join([Path(sys.executable).name, *sys.argv])


def write_results(name: str, rows: list[dict[str, Any]], markdown: str, extra: dict[str, Any] | None = None,
                  out_dir: Path = RESULTS) -> None:
    """Write ``<name>.json`` and ``<name>.md`` (with command and machine) under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"command": command(), "machine": machine(), **(extra or {})}
    (out_dir / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str) + "\n")
    m = meta["machine"]
    header = (f"Command: `{meta['command']}`  \n"
              f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; load average at the end "
              f"{', '.join(f'{x:.2f}' for x in m['load_avg'])}  \n"
              f"Versions: Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
              + f"  \nCommit: {m['git_commit']}, {m['date']}\n\n")
    (out_dir / f"{name}.md").write_text(f"# {name}\n\n" + header + markdown + "\n")


def peak_rss_of(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd`` under /usr/bin/time-like accounting: (wall seconds, peak RSS MiB of the child, stdout)."""
    import time

    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return wall, rss, proc.stdout
