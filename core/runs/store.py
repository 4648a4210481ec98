"""The run store: one folder per training run, written atomically, read defensively.

Layout (docs/ARCHITECTURE.md, "The run folder")::

    runs/<id>/config.json  status.json  history.csv  batches.csv
             best.keras  final.keras  metrics.json  split.json  log.txt  STOP
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import stat
import sys
from pathlib import Path

from core.access.roles import Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _, number
from core.base.storage import MAX_JSON_BYTES, Damaged, read_csv, read_json, slugify, write_json_atomic
from core.runs import procs
from core.runs.schema import CONFIG, METRICS, STATES, STATUS, class_names, clean, confusion_ok

RUN_ID_RE = re.compile(r"^[A-Za-z0-9._-]+$")
ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("completed", "stopped", "failed", "interrupted")
MAX_STATUS_BYTES = 64 * 1024
MAX_NOTE_CHARS = 10_000
# "mae"/"val_mae": table regressions (their "accuracy" cells stay empty); empty for every other run.
HISTORY_FIELDS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds", "mae", "val_mae"]
BATCH_FIELDS = ["epoch", "batch", "step", "loss", "accuracy", "seconds"]


def runs_dir(path: str | Path | None = None) -> Path:
    """The runs folder: ``path``, ``$CNNLAB_RUNS_DIR`` or ``./runs``."""
    return Path(path) if path is not None else Path(os.environ.get("CNNLAB_RUNS_DIR", "runs"))


def now_iso() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def iso_seconds(iso: object) -> float | None:
    """Seconds since the epoch of a timestamp written by :func:`now_iso` (None if absent or unreadable)."""
    try:
        return _dt.datetime.fromisoformat(iso).timestamp() if isinstance(iso, str) else None
    except ValueError:
        return None


def validate_run_id(run_id: str) -> str:
    """Returns ``run_id`` when it is a safe folder name, else raises InputError."""
    if not RUN_ID_RE.match(run_id or "") or run_id in (".", ".."):
        raise InputError(_("Invalid run id {run}: expected letters, digits, '.', '_' or '-'.").format(run=repr(run_id)))
    return run_id


class Run:
    """One run folder. Reading never raises for a half-written run."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.id = self.path.name

    # files
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def stop_path(self) -> Path:
        return self.path / "STOP"

    @property
    def log_path(self) -> Path:
        return self.path / "log.txt"

    @property
    def history_path(self) -> Path:
        """history.csv: one row an epoch (``HISTORY_FIELDS``)."""
        return self.path / "history.csv"

    @property
    def best_path(self) -> Path:
        """best.keras: the checkpoint of the best validation loss (may not exist yet)."""
        return self.path / "best.keras"

    def download_name(self, path: str | Path) -> str:
        """The name a file of this run gets when downloaded: ``<run id>-<file name>``.

        ``run.download_name(run.history_path)`` -> ``"20240101-120000-mnist-history.csv"``: several
        runs' files can sit in one downloads folder without one replacing another.
        """
        return f"{self.id}-{Path(path).name}"

    def config(self) -> dict:
        """config.json with its known fields type-checked ({} when missing or damaged)."""
        data = read_json(self.config_path)
        return clean(data, CONFIG, keep_unknown=True)[0] if data else {}

    def damage(self) -> str | None:
        """Why this run's config.json or status.json cannot be trusted, or None."""
        for path, limit in ((self.config_path, MAX_JSON_BYTES), (self.status_path, MAX_STATUS_BYTES)):
            data = read_json(path, limit)
            if isinstance(data, Damaged):
                return data.why
        return None

    def status(self) -> dict:
        """status.json, type-checked: ``{"status": "unknown"}`` when missing, ``"damaged"`` when unusable."""
        data = read_json(self.status_path, MAX_STATUS_BYTES)
        if isinstance(data, Damaged):
            return {"status": "damaged", "error": _("This run folder is damaged: {why}.").format(why=data.why)}
        if data is None:
            return {"status": "unknown"}
        out, bad = clean(data, STATUS)
        if out.get("status") not in STATES:
            state = str(data.get("status"))[:40]
            return {
                "status": "damaged",
                "error": _("This run folder is damaged: status.json says {state}.").format(state=repr(state)),
            }
        if bad:
            out["damaged_fields"] = bad
        return out

    def metrics(self) -> dict | None:
        """metrics.json, type-checked (None when missing or unusable)."""
        data = read_json(self.path / "metrics.json")
        if not data:
            return None
        out, _dropped = clean(data, METRICS)
        names = class_names(out.get("class_names"))
        if names is None or not confusion_ok(out.get("confusion_matrix"), len(names)):
            out.pop("confusion_matrix", None)
            out.pop("per_class", None)
        return out

    def process_alive(self) -> bool:
        """True when the training process this run recorded (pid and start time) still runs."""
        st = self.status()
        return procs.alive(st.get("pid"), st.get("pid_start"))

    def history(self) -> list[dict]:
        return read_csv(self.history_path)

    def batches(self) -> list[dict]:
        return read_csv(self.path / "batches.csv")

    def checkpoint(self) -> Path | None:
        """best.keras if present, else final.keras, else None."""
        for name in ("best.keras", "final.keras"):
            if (self.path / name).is_file():
                return self.path / name
        return None

    def update_status(self, **fields) -> dict:
        current = self.status()
        if current.get("status") in ("damaged", "unknown"):
            current = {k: v for k, v in current.items() if k == "created"}
        current.pop("damaged_fields", None)
        status = {**current, **fields, "updated": now_iso()}
        write_json_atomic(self.status_path, status, MAX_STATUS_BYTES)
        return status

    def update_config(self, **facts) -> None:
        """Adds what training learnt (class names, split sizes...) to config.json, once, atomically."""
        write_json_atomic(self.config_path, {**self.config(), **facts})

    @property
    def note_path(self) -> Path:
        return self.path / "note.txt"

    def note(self) -> str:
        """The run's note (its first ``MAX_NOTE_CHARS`` characters)."""
        try:
            if not stat.S_ISREG(os.stat(self.note_path).st_mode):
                return ""
            with self.note_path.open("rb") as fh:
                return fh.read(MAX_NOTE_CHARS * 4).decode("utf-8", errors="replace")[:MAX_NOTE_CHARS]
        except OSError:
            return ""

    def write_note(self, text: str, *, actor: Actor) -> None:
        """Saves the run's note.

        Raises:
            InputError: not the presenter, longer than ``MAX_NOTE_CHARS``, or the disk refused it.
        """
        require_presenter(actor, N_("write notes"))
        if not isinstance(text, str) or len(text) > MAX_NOTE_CHARS:
            raise InputError(
                _("A note holds at most {limit} characters. Received: {n}.").format(
                    limit=number(MAX_NOTE_CHARS), n=number(len(str(text)))
                )
            )
        try:
            self.note_path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(_("Could not save the note: {problem}.").format(problem=exc.strerror or exc)) from None

    def request_stop(self) -> None:
        self.stop_path.write_text(now_iso())

    def stop_requested(self) -> bool:
        return self.stop_path.exists()

    def log(self, message: str) -> None:
        """Appends a line to the run's log.txt and echoes it to stderr."""
        line = f"[{_dt.datetime.now().strftime('%H:%M:%S')}] {message}"
        print(line, file=sys.stderr, flush=True)
        with self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def summary(self) -> dict:
        """A flat dict for tables and ``core.runs.store list``."""
        cfg, st, m = self.config(), self.status(), self.metrics() or {}
        damage = self.damage()
        if damage:
            st = {"status": "damaged", "error": _("This run folder is damaged: {why}.").format(why=damage)}
        return {
            "run_id": self.id,
            "status": st.get("status", "unknown"),
            "task": cfg.get("task"),
            "preset": cfg.get("preset"),
            "dataset": cfg.get("data"),
            "epochs": st.get("epochs_done"),
            "best_val_accuracy": st.get("best_val_accuracy"),
            "test_accuracy": m.get("accuracy"),
            "train_seconds": st.get("train_seconds"),
            "created": cfg.get("created") or st.get("created"),
            "error": st.get("error"),
        }


class RunStore:
    """All runs under one folder."""

    def __init__(self, root: str | Path | None = None):
        self.root = runs_dir(root)

    def create(self, name: str, config: dict) -> Run:
        """Creates ``<root>/<YYYYMMDD-HHMMSS>-<slug>`` with config.json and a queued status."""
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{slugify(name)}"
        for n in range(1000):
            run_id = base if n == 0 else f"{base}-{n + 1}"
            try:
                (self.root / run_id).mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise InputError(_("Could not create a run folder under {root}").format(root=self.root))
        run = Run(self.root / run_id)
        write_json_atomic(run.config_path, {**config, "run_id": run_id, "created": now_iso()})
        write_json_atomic(run.status_path, {"status": "queued", "created": now_iso(), "updated": now_iso()})
        return run

    def get(self, run_id: str) -> Run:
        run = Run(self.root / validate_run_id(run_id))
        if not run.path.is_dir():
            raise InputError(_("No run {run} in {root}").format(run=repr(run_id), root=self.root))
        return run

    def list(self, mark_interrupted: bool = True) -> list[Run]:
        """Runs, newest first; active runs whose process is gone become ``interrupted``."""
        if not self.root.is_dir():
            return []
        runs = [Run(p) for p in self.root.iterdir() if p.is_dir() and RUN_ID_RE.match(p.name)]
        runs = [r for r in runs if r.config_path.exists() or r.status_path.exists()]
        if mark_interrupted:
            for run in runs:
                mark_if_orphaned(run)
        return sorted(runs, key=lambda r: r.id, reverse=True)

    def delete(self, run_id: str, *, actor: Actor) -> None:
        """Deletes a finished run. Raises InputError for a running one, or for the audience."""
        import shutil

        require_presenter(actor, N_("delete runs"))
        run = self.get(run_id)
        if run.status().get("status") in ACTIVE_STATES and run.process_alive():
            raise InputError(
                _("Run {run} is still {state}; stop it first.").format(run=run_id, state=_(run.status()["status"]))
            )
        shutil.rmtree(run.path)


def mark_if_orphaned(run: Run) -> bool:
    """Marks a running/queued run whose process is gone as ``interrupted``; says if it did."""
    st = run.status()
    if st.get("status") == "running" and not run.process_alive():
        run.update_status(
            status="interrupted",
            error="The training process ended without finishing (killed, crashed or the machine restarted). "
            "Its best checkpoint, if any, is still usable.",
            ended=now_iso(),
        )
        return True
    return False


def open_run(path: str | Path) -> Run:
    """Opens a run folder given by the user (``--run``).

    Raises:
        InputError: the path is missing or is not a run folder.
    """
    p = Path(path)
    if not p.is_dir():
        raise InputError(_("Run folder not found: {path}").format(path=p))
    if not (p / "config.json").is_file():
        raise InputError(_("{path} is not a CNN Lab run folder (no config.json).").format(path=p))
    return Run(p)


def main(argv: list[str] | None = None) -> int:
    from core.base.cli import make_parser, run_cli

    def _main(args) -> dict:
        store = RunStore(args.runs_dir)
        if args.command == "list":
            return {"runs": [r.summary() for r in store.list()]}
        raise InputError(f"Unknown command {args.command!r}")

    parser = make_parser("python -m core.runs", "List the runs in the run store.")
    parser.add_argument("command", choices=["list"])
    parser.add_argument("--runs-dir", default=None)
    return run_cli(parser, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
