"""Start-up stays light: the first page is drawn before TensorFlow (or pandas) is imported, and the
warm-up loads them afterwards in the background. Each check runs in a fresh interpreter, where
nothing else has imported them yet (bench/startup.py measures the times)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import ROOT, cli_env

HEAVY = ("tensorflow", "keras", "pandas")


def run_python(code: str, tmp_path) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=cli_env(tmp_path),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_home_page_is_drawn_without_tensorflow_and_the_warm_up_starts_after_it(tmp_path):
    out = run_python(
        f"""
        import sys
        from streamlit.testing.v1 import AppTest
        import pages._data, pages._router

        events, data_status = [], pages._data.data_status
        heavy = lambda: [m for m in {HEAVY!r} if m in sys.modules]
        # Home asks for the data folder's status last (the sidebar before it); the warm-up only records.
        pages._data.data_status = lambda: events.append(("data", heavy())) or data_status()
        pages._router.warm_up = lambda: events.append(("warm_up", heavy()))
        at = AppTest.from_file("streamlit_app.py", default_timeout=120).run()
        assert not at.exception, at.exception
        assert at.title[0].value == "CNN Lab"
        print(events[-2:], [e for e, _ in events].count("warm_up"), heavy())
        """,
        tmp_path,
    )
    assert out == "[('data', []), ('warm_up', [])] 1 []", out


def test_warm_up_returns_at_once_and_loads_tensorflow_and_the_model_in_the_background(tmp_path):
    out = run_python(
        """
        import gc, sys, threading
        import core.tasks
        import pages._router as router

        loads, serve = [], core.tasks.serve
        core.tasks.serve = lambda run: loads.append(run.id) or serve(run)
        router.warm_up()
        warm = [t for t in threading.enumerate() if t.name == "cnnlab-warm-up"]
        warm[0].join(240)
        router.warm_up()  # once per server
        again = [t for t in threading.enumerate() if t.name == "cnnlab-warm-up"]
        from core.serving.default_model import default_run
        from pages._runs import load_served

        load_served(str(default_run().path))  # what Predict asks for: already loaded
        print(len(warm), len(again), "keras" in sys.modules, gc.get_freeze_count() > 0, loads)
        """,
        tmp_path,
    )
    assert out == "1 0 True True ['mnist-default']", out


def test_the_warm_up_imports_what_pages_need_before_tensorflow():
    """Pages found pandas and plotly unimported while TensorFlow's import held the interpreter (2-4 s);
    a formatter sorting these imports would bring that back."""
    import ast

    tree = ast.parse((ROOT / "pages" / "_router.py").read_text())
    warm = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_warm")
    order = [a.name for n in ast.walk(warm) if isinstance(n, ast.Import) for a in n.names]
    assert order.index("pandas") < order.index("keras") and order.index("plotly.graph_objects") < order.index("keras")
