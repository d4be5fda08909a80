"""A Procfile role of `make run` and `make demo`: shows the login again once the start-up lines are done.

.venv/bin/python -m botpresto.devtools.login_reminder var/login.txt

It then waits, doing nothing, until honcho stops it (honcho ends every role when one exits).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType

DELAY_SECONDS = 6.0  # past the web server's, the worker's and beat's start-up lines


def _stop(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "var/login.txt")
    time.sleep(DELAY_SECONDS)
    text = path.read_text() if path.exists() else f"no login file at {path}\n"
    print(f"\n{text}(this is {path})\n", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
