"""The Procfile's process roles as commands, so benchmarks, chaos runs and tests start exactly what production runs."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def role_command(role: str, env: Mapping[str, str] | None = None, procfile: Path = ROOT / "Procfile") -> list[str]:
    """The role's command line, ``${NAME:-default}`` read as the shell would, its program from this venv."""
    env = os.environ if env is None else env
    line = next((line for line in procfile.read_text().splitlines() if line.startswith(f"{role}:")), None)
    if line is None:
        raise KeyError(f"the Procfile has no {role!r} role")
    command = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m[1], m[2]), line.split(":", 1)[1])
    command = re.sub(r"\$(\w+)", lambda m: env.get(m[1], ""), command)
    parts = command.split()
    program = Path(sys.executable).with_name(parts[0])
    if program.exists():
        parts[0] = str(program)
    return parts
