"""Shared plumbing for the ``python -m core.<name>`` entry points.

Contract (DESIGN.md): human progress on stderr, exactly one JSON object as the last
line of stdout; exit 0 on success, 2 on bad input (JSON has "error"), 1 on failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable

from core.errors import InputError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


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
