"""The embedded broker under demo traffic for a minute: beat, two workers and the senders (scripts/soak_broker.py).

The README quotes the same script's one-hour run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_it_runs_every_task_and_no_role_dies_under_a_minute_of_demo_traffic(tmp_path: Path) -> None:
    env = {**os.environ, "SOAK_BROKER_DIR": str(tmp_path / "broker")}
    out = tmp_path / "soak.json"
    run = subprocess.run(
        [sys.executable, "scripts/soak_broker.py", "--seconds", "60", "--rate", "15", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    result = json.loads(out.read_text())
    assert result["crashed"] == {}, result["crash_logs"]
    assert result["sent"] > 500
    assert result["missing"] == 0
    assert result["unreadable_files"] == 0
    assert run.returncode == 0, run.stdout[-2000:]
