"""The import contract ([tool.importlinter] in pyproject.toml) and the size of core's modules.

Each contract runs as its own test through import-linter (``lint-imports``): a broken one fails
with import-linter's report, which names every import that breaks it and its line. Run them all
by hand with ``lint-imports`` from the project root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {c["id"]: c["name"] for c in CONFIG["contracts"]}
MAX_MODULE_LINES = 450

LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True, limit_to_contracts=tuple(sys.argv[1:])))"  # fmt: skip


def lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess:
    """``lint-imports`` in ``root`` (its pyproject.toml), limited to ``contracts``; no cache written."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONPATH": str(root)}  # one import per line, no escapes
    return subprocess.run([sys.executable, "-c", LINT, *contracts], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def report(done: subprocess.CompletedProcess) -> str:
    """The part of the output after the logo: the contracts' verdicts and each broken one's imports."""
    out = done.stdout + done.stderr
    start = out.find("Contracts\n")
    return out[start:] if start >= 0 else out


def test_the_contracts_are_all_there():
    """A contract dropped from pyproject.toml would pass silently: the three are named here."""
    assert sorted(CONTRACTS) == ["app-apart", "core-acyclic", "core-layers"]
    assert set(CONFIG["root_packages"]) == {"core", "pages"} and CONFIG["include_external_packages"] is True


@pytest.mark.parametrize("contract", list(CONTRACTS))
def test_import_contract_is_kept(contract):
    done = lint_imports(ROOT, contract)
    if done.returncode != 0 or " KEPT" not in done.stdout:
        pytest.fail(f"Contract {contract!r} ({CONTRACTS[contract]}) is broken:\n\n{report(done)}", pytrace=False)


def test_a_broken_contract_fails_with_the_import_that_breaks_it(tmp_path):
    """The check is not vacuous: a copy of the project with an upward import and a streamlit
    import in core.base fails all three contracts, and the reports name the imports."""
    ignore = shutil.ignore_patterns("__pycache__", "assets", "locales", "*.keras", "*.npz")
    shutil.copytree(ROOT / "core", tmp_path / "core", ignore=ignore)
    shutil.copytree(ROOT / "pages", tmp_path / "pages", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "core" / "base" / "upward.py").write_text("import streamlit\n\nimport core.teaching\n")

    apart = lint_imports(tmp_path, "app-apart")
    assert apart.returncode != 0 and " BROKEN" in apart.stdout, report(apart)
    assert "core.base.upward -> streamlit (l.1)" in apart.stdout, report(apart)

    layers = lint_imports(tmp_path, "core-layers")
    assert layers.returncode != 0, report(layers)
    assert "core.base is not allowed to import core.teaching" in layers.stdout, report(layers)
    assert "core.base.upward -> core.teaching (l.3)" in layers.stdout, report(layers)

    cycle = lint_imports(tmp_path, "core-acyclic")  # core.teaching imports core.base: now a cycle
    assert cycle.returncode != 0 and "No cycles are allowed in core." in cycle.stdout, report(cycle)


def test_every_core_module_is_at_most_450_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in sorted((ROOT / "core").rglob("*.py"))}  # fmt: skip
    assert len(sizes) > 50  # the walk found core
    offenders = {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES}
    listing = "\n".join(f"  {path}: {n} lines" for path, n in sorted(offenders.items(), key=lambda kv: -kv[1]))
    if offenders:
        pytest.fail(f"{len(offenders)} module(s) in core/ over {MAX_MODULE_LINES} lines (split them):\n{listing}",
                    pytrace=False)  # fmt: skip
