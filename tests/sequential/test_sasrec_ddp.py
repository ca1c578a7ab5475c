"""Two DDP processes (torchrun, gloo) follow the single-process loss trajectory of the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

WORKER = Path(__file__).with_name("ddp_worker.py")
ROOT = Path(__file__).resolve().parents[2]

#: Gloo sums gradients in a different order than one process, so agreement is to float32 rounding: losses within a
#: relative 1e-4 over all 10 steps. Adam divides by sqrt(v), which amplifies rounding for parameters whose gradients
#: are nearly zero (measured: 22 of 4,976 weights differ by up to 4.4e-4 after 10 steps of lr 3e-3), hence the
#: looser bound on the weights.
RTOL_LOSS = 1e-4
ATOL_PARAMS = 2e-3


def _run(args: list[str], out: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    subprocess.run(args + [str(WORKER), str(out)], check=True, env=env, cwd=ROOT, timeout=300,
                   capture_output=True)
    return json.loads(out.read_text())


def test_two_processes_match_one(tmp_path: Path) -> None:
    one = _run([sys.executable], tmp_path / "one.json")
    two = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"],
               tmp_path / "two.json")
    assert one["world"] == 1 and two["world"] == 2
    assert len(one["step_loss"]) == len(two["step_loss"]) >= 8
    np.testing.assert_allclose(two["step_loss"], one["step_loss"], rtol=RTOL_LOSS)
    np.testing.assert_allclose(two["params"], one["params"], atol=ATOL_PARAMS)
