"""Keep TensorFlow's start-up chatter off the command line, and every real warning on it.

TensorFlow's native code prints lines at import and device set-up (oneDNN notices, "Could
not find cuda drivers", "failed call to cuInit" on a machine without a GPU...) straight to
file descriptor 2, before its log level settings apply. :func:`filtered_stderr` routes fd 2
through a pipe for the duration of a command and drops only those known lines.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading

NOISE = re.compile(
    "|".join(
        (
            r"All log messages before absl::InitializeLog\(\) is called",
            r"oneDNN custom operations are on",
            r"Could not find cuda drivers on your machine",
            r"failed call to cuInit",
            r"Unable to register cu(DNN|FFT|BLAS) factory",
            r"computation placer already registered",
            r"TF-TRT Warning",
            r"This TensorFlow binary is optimized to use available CPU instructions",
            r"rebuild TensorFlow with the appropriate compiler flags",
            r"NodeDef mentions attribute use_unbounded_threadpool",
        )
    )
)


@contextlib.contextmanager
def filtered_stderr():
    """Forwards everything written to fd 2 (Python's or native code's) except known noise."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:  # no usable fd 2 (an embedded interpreter): leave it alone
        yield
        return

    def forward() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                if not NOISE.search(line.decode("utf-8", errors="replace")):
                    os.write(saved, line)

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the thread reads to the end
        thread.join(timeout=5)
        os.close(saved)
