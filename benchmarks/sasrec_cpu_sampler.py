"""Sample the CPU time of a running process every 10 s (for runs whose trainer did not record CPU time).

Usage: ``python benchmarks/sasrec_cpu_sampler.py PID OUT`` appends ``unix_time cpu_ticks ticks_per_second`` lines
(user + system time of the process, all threads) to OUT until the process exits.
"""

from __future__ import annotations

import os
import sys
import time


def main(pid: int, out: str, every: float = 10.0) -> None:
    tck = os.sysconf("SC_CLK_TCK")
    while True:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return
        with open(out, "a", encoding="ascii") as g:
            g.write(f"{time.time():.3f} {int(fields[11]) + int(fields[12])} {tck}\n")
        time.sleep(every)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
