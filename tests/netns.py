"""Run a check script in a network namespace of its own (unshare), with its own hosts file and a
public-looking address (1.2.3.4) on its loopback: nothing leaves the machine, and no name is resolved
by a DNS server. For the guards against private addresses and DNS re-binding."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_ENCRYPTION_KEYS


def netns_run(check: Path, *, hosts: str, folder: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """The check's last line of output, read as JSON; the test is skipped without unshare and root."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root for a network namespace of its own")
    hosts_file = folder / "hosts"
    hosts_file.write_text(hosts)
    script = (
        f"mount --bind {hosts_file} /etc/hosts && ip link set lo up && ip addr add 1.2.3.4/32 dev lo "
        f"&& exec {sys.executable} {check}"
    )
    environ = {**os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 50, "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS}
    environ.update(ALLOW_PRIVATE_UPSTREAMS="false", **env)
    done = subprocess.run(
        ["unshare", "-m", "-n", "--", "sh", "-c", script], env=environ, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
