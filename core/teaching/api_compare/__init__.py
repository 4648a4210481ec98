"""The same MNIST CNN (the ``mnist-tutorial`` preset) written three ways, to compare APIs.

Each way is a small module a reader can follow top to bottom: ``lowlevel`` (TensorFlow by
hand), ``keras_fit`` (Keras) and ``keras_xla`` (Keras compiled with XLA). The page shows
these files as they are (the code that runs), ``runner`` trains any of them as a job and
``results`` reads what a comparison measured.
Importing this package loads no TensorFlow.
"""

from __future__ import annotations

import functools
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

from core.base.i18n import N_

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Way:
    """One way of writing the network."""

    key: str
    label: str
    files: tuple[str, ...]  # the modules that make it, in reading order
    lecture: tuple[int, float, float] | None  # the 2019 lecture's lines, seconds, test accuracy


WAYS: dict[str, Way] = {
    "lowlevel": Way("lowlevel", N_("Low-level TensorFlow"), ("lowlevel.py",), (154, 200.0, 0.98)),
    "keras": Way("keras", N_("Keras"), ("keras_fit.py",), (55, 366.0, 0.99)),
    "keras_xla": Way("keras_xla", N_("Keras + XLA"), ("keras_fit.py", "keras_xla.py"), None),
}
# The lecture also had the Estimator API, removed from TensorFlow in 2.16: history only.
ESTIMATOR_2019 = (92, 140.0, 0.97)


def source(file: str) -> str:
    """The text of one of this package's modules (``file`` is a name from ``Way.files``)."""
    if file not in {f for way in WAYS.values() for f in way.files}:
        raise ValueError(f"Expected one of the modules of WAYS. Received: {file!r}")
    return (HERE / file).read_text(encoding="utf-8")


def code_lines(text: str) -> int:
    """Lines that hold code: not blank, not only a comment, not part of a docstring.

    A docstring is a string that stands alone as a statement (module, class or function
    doc); ``from __future__`` lines are also left out (they change nothing here).
    """
    statement_start = (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL)
    skip: set[int] = set()
    previous = tokenize.NEWLINE
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.STRING and previous in statement_start:
            skip.update(range(tok.start[0], tok.end[0] + 1))
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            previous = tok.type
    lines = text.splitlines()
    return sum(
        1
        for n, line in enumerate(lines, 1)
        if n not in skip and line.strip() and not line.strip().startswith("#") and "from __future__" not in line
    )


@functools.cache  # the modules do not change while the server runs; pages ask every refresh
def way_lines(key: str) -> int:
    """Lines of code of a way: its modules together."""
    return sum(code_lines(source(f)) for f in WAYS[key].files)
