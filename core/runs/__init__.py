"""Runs and jobs: one folder per training run, and the background processes that write them.

- ``store``: the run folder (``Run``, ``RunStore``), written atomically, read defensively; ``python -m core.runs``.
- ``schema``: the types of what a run's JSON files hold; why a run stopped (``STOP_REASONS``).
- ``jobs``: ``JobManager``, background training processes (``python -m core.train --run-dir``).
- ``procs``: which process is really a run's training (never trust a pid read from a file).
- ``progress``: how far a run is, for progress bars, ETAs and final messages.
- ``replay_record``: the replay record, epoch by epoch, read defensively.
"""
