"""CNN Lab: a thin router. Pages live in pages/; computation lives in core/."""

import streamlit as st

from core.base.i18n import _
from pages import _server
from pages._i18n import init_language, language_switch
from pages._projector import projector_applied, projector_mode, projector_switch
from pages._router import app_icon, keep_jobs_moving, routed, warm_up
from pages._session import configure_access, is_presenter, presenter_box
from pages._sidebar import render_sidebar_status
from pages._style import apply_style
from pages._talk_bar import follow_the_step, talk_bar

_server.install()  # once per process: no Keras clean-up per rerun, upload caps, allowed hosts

# The icon is drawn by code: a Material or emoji favicon would be fetched from a CDN.
st.set_page_config(page_title="CNN Lab", page_icon=app_icon(), layout="wide")
projector_mode()  # ?projector=1 or the sidebar switch: the sidebar collapsed, the navigation on top
init_language()  # from the link (?lang=pt-BR), the session or the browser
apply_style()  # after the language: the uploader's words follow it
configure_access()  # who is the presenter (a key, or alone on localhost); takes ?key= from the link

# Grouped as the mission reads: Learn, Train, Use, and the room. The audience does not see what
# it may not use (the core refuses it anyway).
presenter = is_presenter()
PAGES = {
    "": [st.Page("pages/home.py", title=_("Home"), icon=":material/home:", default=True)],
    _("Learn"): [
        st.Page("pages/learn.py", title=_("Convolution & pooling"), icon=":material/grid_on:", url_path="learn"),
        st.Page("pages/hood.py", title=_("Under the hood"), icon=":material/code:", url_path="hood"),
    ],
    _("Train"): [
        *(
            [st.Page("pages/train.py", title=_("Train"), icon=":material/model_training:", url_path="train")]
            if presenter
            else []
        ),
        st.Page("pages/race.py", title=_("Architecture race"), icon=":material/sports_score:", url_path="race"),
        st.Page("pages/curves.py", title=_("Learning curves"), icon=":material/show_chart:", url_path="curves"),
    ],
    _("Use"): [
        st.Page("pages/predict.py", title=_("Predict"), icon=":material/draw:", url_path="predict"),
        st.Page("pages/evaluate.py", title=_("Evaluate"), icon=":material/fact_check:", url_path="evaluate"),
    ],
    _("Room"): [
        st.Page("pages/join.py", title=_("Join"), icon=":material/smartphone:", url_path="join"),
        st.Page("pages/follow.py", title=_("Follow the talk"), icon=":material/slideshow:", url_path="follow"),
        st.Page("pages/wall.py", title=_("Wall"), icon=":material/co_present:", url_path="wall"),
        *(
            [st.Page("pages/talk.py", title=_("Talk"), icon=":material/present_to_all:", url_path="talk")]
            if presenter
            else []
        ),
    ],
}

page = st.navigation(PAGES, position="top" if st.session_state.get("projector") else "sidebar")
keep_jobs_moving()  # at most every few seconds for the whole server: vanished runs become interrupted
language_switch()
projector_switch()
render_sidebar_status()
presenter_box()
try:
    with routed():
        follow_the_step(page.url_path)  # presenting a talk: once per step, its page set as the step says
        talk_bar(page.url_path)
        page.run()
    projector_applied()  # the page ran to its end: the browser got the sidebar's click
finally:  # also after st.stop() or st.rerun()
    warm_up()  # once per server, in the background once the first page has run: TensorFlow and the shipped model
