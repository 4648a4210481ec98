"""The table of training settings: one declaration per setting, read by every surface.

A setting is a dataclass field declared with :func:`setting` (in ``ModelSpec`` for the
recipe, in ``TrainConfig`` for the run). Its metadata says its type, range or choices,
help text and which tasks it applies to. From that one declaration:

- the command line gets its ``--flag`` (:func:`add_flags`),
- the Train page gets its widget (``pages/_settings_form.py``),
- every surface refuses a bad value with the same message (:meth:`Setting.check`),
- ``config.json`` stores it (the dataclasses serialise their fields).

Adding a training setting is one :func:`setting` field plus the code that uses it.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from core.base.errors import InputError
from core.base.i18n import N_, _


@dataclass(frozen=True)
class Setting:
    """One training setting: what it is, what values it accepts, how to explain it."""

    name: str
    kind: type  # int, float, str or bool
    default: Any
    label: str
    help: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple = ()
    optional: bool = False  # None is a value ("not set": the optimizer's or preset's own)
    tasks: tuple[str, ...] = ()  # empty: every task
    group: str = "training"  # "training" (shown first) or "advanced"
    steps: tuple = ()  # suggested values for a slider on the page
    owner: str = ""  # the dataclass that holds it: "spec" or "run"
    only_with: tuple = ()  # ("optimizer", ("adamw", "sgd")): a non-default value needs one of those

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def applies_to(self, task: str) -> bool:
        return not self.tasks or task in self.tasks

    def range_text(self) -> str:
        if self.choices:
            return " | ".join(map(str, self.choices))
        if self.lo is not None and self.hi is not None:
            if self.kind is int:
                return f"{int(self.lo)}..{int(self.hi)}"
            return f"{self.lo:g}..{self.hi:g}"
        return ""

    def check(self, value: Any) -> Any:
        """Returns ``value`` in this setting's type, or raises the one message every surface shows.

        Raises:
            InputError: "Expected epochs in 1..1000. Received: epochs=-3".
        """
        if value is None and self.optional:
            return None
        rng = self.range_text()
        out_of_range = InputError(
            _("Expected {name} in {range}. Received: {name}={value}").format(
                name=self.name, range=rng, value=repr(value)
            )
        )
        kind = _(_KIND_WORDS[self.kind])
        wrong_type = InputError(
            (_("Expected {name} to be {kind} in {range}. Received: {name}={value}") if rng
             else _("Expected {name} to be {kind}. Received: {name}={value}")).format(
                name=self.name, kind=kind, range=rng, value=repr(value))
        )  # fmt: skip
        if self.kind is bool:
            if not isinstance(value, bool):
                raise wrong_type
            return value
        if self.kind is str:
            if not isinstance(value, str):
                raise wrong_type
            if self.choices and value not in self.choices:
                raise out_of_range
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong_type
        if isinstance(value, float) and not math.isfinite(value):
            raise out_of_range
        if self.kind is int:
            if value != int(value):
                raise wrong_type
            value = int(value)
        else:
            value = float(value)
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise out_of_range
        return value


_KIND_WORDS = {int: N_("a whole number"), float: N_("a number"), str: N_("text"), bool: N_("true or false")}


def setting(
    kind: type,
    default: Any,
    label: str,
    help: str,
    **options: Any,
) -> Any:
    """Declares a dataclass field as a training setting (see :class:`Setting` for ``options``)."""
    return field(default=default, metadata={"setting": {"kind": kind, "label": label, "help": help, **options}})


def settings_of(cls: type, owner: str) -> tuple[Setting, ...]:
    """The settings declared on a dataclass, in declaration order."""
    out = []
    for f in fields(cls):
        meta = f.metadata.get("setting")
        if meta is not None:
            out.append(Setting(name=f.name, default=_default(f), owner=owner, **meta))
    return tuple(out)


def _default(f: Field) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None  # type: ignore[misc]


def add_flags(parser: argparse.ArgumentParser, table: tuple[Setting, ...]) -> None:
    """Adds one ``--flag`` per setting. Flags default to None: "keep the preset's value".

    Ranges are not given to argparse: :meth:`Setting.check` refuses bad values later, with
    the same message the Train page shows.
    """
    group = parser.add_argument_group("training settings (default: the preset's value)")
    for s in table:
        where = f" [{', '.join(s.tasks)} only]" if s.tasks else ""
        text = f"{s.help} ({s.range_text()}; default {s.default}){where}".replace("%", "%%")
        if s.kind is bool:
            group.add_argument(s.flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            group.add_argument(s.flag, type=s.kind, default=None, metavar=s.name.upper(), help=text)


def values_from_args(args: argparse.Namespace, table: tuple[Setting, ...]) -> dict[str, Any]:
    """The settings given on the command line (those left out are not in the dict)."""
    return {s.name: getattr(args, s.name) for s in table if getattr(args, s.name, None) is not None}


def check_all(obj: Any, table: tuple[Setting, ...]) -> None:
    """Checks (and normalises in place) every setting of ``obj``, then their ``only_with`` rules.

    Raises:
        InputError: the first bad value, with the message of :meth:`Setting.check`.
    """
    for s in table:
        setattr(obj, s.name, s.check(getattr(obj, s.name)))
    for s in table:
        if s.only_with and getattr(obj, s.name) != s.default:
            other, allowed = s.only_with
            if getattr(obj, other) not in allowed:
                raise InputError(
                    _("{name} applies only when {other} is one of {allowed}. Received: {other}={now}, {name}={value}").format(
                        name=s.name, other=other, allowed=", ".join(allowed), now=repr(getattr(obj, other)),
                        value=repr(getattr(obj, s.name)))
                )  # fmt: skip
