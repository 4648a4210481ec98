"""The sidebar every page shows: datasets found and what is training now."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.base.i18n import _
from core.runs.store import ACTIVE_STATES, RunStore
from pages._data import data_status
from pages._i18n import localized


def active_runs() -> list[dict]:
    """Runs that are queued or running now (any session's), newest first."""
    return _active_runs(str(RunStore().root.resolve()))


@st.cache_data(ttl=1, show_spinner=False)  # many sessions poll; one listing per second serves all
def _active_runs(root: str) -> list[dict]:
    try:
        runs = RunStore(root).list()
        return [r.summary() | {"progress": r.status()} for r in runs if r.status().get("status") in ACTIVE_STATES]
    except OSError:  # an unreadable runs folder must not break every page
        return []


def refresh_active_runs() -> None:
    """Forgets the listing cached for a second: the page that just started a job reruns and shows it
    under "Training now" (else the rerun, within that second, read the listing from before the start)."""
    _active_runs.clear()


def render_sidebar_status() -> None:
    """The sidebar block every page shows: datasets found and what is training now."""
    status = data_status()
    with st.sidebar:
        st.markdown(_("**Data folder**"))
        lines = [_("MNIST: `{name}`").format(name=Path(p).name) for p in status["mnist"][:1]]
        lines += [_("Images: `{name}`").format(name=Path(p).name) for p in status["folders"]]
        root = Path(status["root"])  # the shipped CSVs are always there: only the data folder's own are news
        lines += [_("Table: `{name}`").format(name=Path(p).name) for p in status.get("tables", [])
                  if Path(p).is_relative_to(root)]  # fmt: skip
        if lines:
            st.caption("  \n".join(lines))
        else:
            st.caption(
                _(
                    "No datasets in `{root}` yet. The Learn page works without data; see Home for how to add some."
                ).format(root=status["root"])
            )
        st.markdown(_("**Training now**"))
        if active_runs():
            training_now_live()
        else:
            training_now()


def training_now() -> None:
    """Queued and running jobs of every session (one listing a second serves every visitor)."""
    runs = active_runs()
    if not runs:
        st.caption(_("Nothing is training."))
    for run in runs:
        p = run["progress"]
        done, total = p.get("epoch"), p.get("epochs")
        where = (
            _("epoch {done}/{total}").format(done=done, total=total) if done is not None and total else _(run["status"])
        )
        st.caption(f"`{run['run_id']}`: {where}")


@st.fragment(run_every=3.0)
@localized
def training_now_live() -> None:
    """:func:`training_now`, refreshed every 3 s while something trains.

    Only then: an idle server costs nothing per open tab, and the page does not blink.
    """
    training_now()
