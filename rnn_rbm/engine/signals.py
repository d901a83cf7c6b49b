"""Ctrl-C as a request to stop cleanly, instead of an exception at an arbitrary line."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Callable, Iterator


@contextlib.contextmanager
def sigint_requests() -> Iterator[Callable[[], bool]]:
    """While active, the first SIGINT only sets a flag, which the caller polls at a safe
    point (after a training batch) to save and stop. A second SIGINT raises
    KeyboardInterrupt at once, for a user who does not want to wait.

    Yields: a function returning whether SIGINT has arrived.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False  # signals reach only the main thread
        return
    received = threading.Event()

    def on_sigint(signum, frame):
        if received.is_set():
            raise KeyboardInterrupt
        received.set()
        print("\nCtrl-C: stopping after this step and saving (Ctrl-C again quits without saving)",
              file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield received.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
