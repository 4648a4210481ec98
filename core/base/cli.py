"""Shared plumbing for the ``python -m core.<name>`` entry points.

Contract (docs/ARCHITECTURE.md, "The command line"): human progress on stderr, exactly one
JSON object as the last line of stdout; exit 0 on success, 2 on bad input (JSON has "error"), 1 on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.base.errors import InputError
from core.base.i18n import _, number
from core.base.quiet import filtered_stderr

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
MAX_JSON_BYTES = 1024 * 1024  # a model spec is a few kB; refuse to read more than this
ROOT = Path(__file__).resolve().parents[2]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit 2 without JSON
        raise InputError(f"{message}. Run with --help for usage.")


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    return _Parser(prog=prog, description=description)


def emit(result: dict) -> None:
    """Prints the one JSON line of stdout."""
    print(json.dumps(result, default=_jsonable), flush=True)


def _jsonable(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def run_cli(parser: argparse.ArgumentParser, handler: Callable, argv: list[str] | None) -> int:
    """Parses arguments, runs ``handler(args) -> dict``, and maps errors to exit codes.

    A handler may return a dict with ``"_exit"`` to choose a non-zero exit code for a
    result that is not an input error (e.g. a failed training run).
    """
    try:
        args = parser.parse_args(argv)
        with filtered_stderr():  # TensorFlow's start-up noise off; real warnings and progress stay
            result = handler(args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        emit({"error": str(exc)})
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        emit({"error": "interrupted"})
        return EXIT_FAILURE
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        emit({"error": f"{type(exc).__name__}: {exc}"})
        return EXIT_FAILURE
    code = int(result.pop("_exit", EXIT_OK))
    emit(result)
    return code


def read_json_file(path: str | Path, what: str, max_bytes: int = MAX_JSON_BYTES) -> dict:
    """Reads a JSON object from a regular file of at most ``max_bytes``.

    Special files (``/dev/zero``, a FIFO), folders, huge, undecodable or deeply nested
    files are refused with a message instead of hanging, filling memory or crashing.

    Raises:
        InputError: the file cannot be used as ``what``.
    """
    p = Path(path)
    try:
        info = os.stat(p)
    except OSError as exc:
        raise InputError(
            _("Could not read the {what} {path}: {problem}.").format(what=_(what), path=p, problem=exc.strerror or exc)
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            _("Expected the {what} to be a regular JSON file. Received: {path} (a folder or special file).").format(
                what=_(what), path=p
            )
        )
    if info.st_size > max_bytes:
        raise InputError(
            _("Expected a {what} of at most {limit} kB. Received: {size} bytes in {path}.").format(
                what=_(what), limit=number(max_bytes // 1024), size=number(info.st_size), path=p)
        )  # fmt: skip
    try:
        with open(p, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(
            _("Could not read the {what} {path}: {problem}.").format(what=_(what), path=p, problem=exc.strerror or exc)
        ) from None
    return parse_json_object(raw, f"{_(what)} {p}", max_bytes)


def parse_json_object(raw: bytes, what: str, max_bytes: int = MAX_JSON_BYTES) -> dict:
    """Parses untrusted bytes (a file, an upload) as one JSON object.

    Raises:
        InputError: too large, not UTF-8 JSON, nested too deeply, or not an object.
    """
    if len(raw) > max_bytes:
        raise InputError(
            _("Expected a {what} of at most {limit} kB. Received: {size} bytes.").format(
                what=_(what), limit=number(max_bytes // 1024), size=number(len(raw)))
        )  # fmt: skip
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = _("nested too deeply") if isinstance(exc, RecursionError) else str(exc)[:200]
        raise InputError(
            _("Could not read the {what}: not valid JSON ({reason}).").format(what=_(what), reason=reason)
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            _("Expected the {what} to hold a JSON object. Received: {type}.").format(
                what=_(what), type=type(data).__name__
            )
        )
    return data


@dataclass
class CliResult:
    """What a ``python -m core.<module>`` child printed: its exit code, last JSON line and stderr."""

    code: int
    output: dict
    stderr: str


def run_module(module: str, args: list[str], env: dict | None = None, timeout: float | None = None) -> CliResult:
    """Runs ``python -m core.<module> ARGS`` from the project root and parses its JSON line.

    Used by tests, benchmarks and the shipped-model builder, so the contract is read one way.

    Raises:
        RuntimeError: the child printed no JSON line (a crash outside the contract).
    """
    proc = subprocess.run([sys.executable, "-m", f"core.{module}", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    try:
        output = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise RuntimeError(
            f"core.{module} printed no JSON (exit {proc.returncode}); stderr:\n{proc.stderr[-3000:]}"
        ) from None
    return CliResult(proc.returncode, output, proc.stderr)
