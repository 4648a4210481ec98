"""CNN Lab: a thin router. Pages live in pages/; computation lives in core/."""

import streamlit as st

from core.jobs import JobManager
from pages._router import app_icon, routed
from pages._sidebar import render_sidebar_status

# The icon is drawn by code: a Material or emoji favicon would be fetched from a CDN.
st.set_page_config(page_title="CNN Lab", page_icon=app_icon(), layout="wide")

# Grouped as the mission reads: Learn, Train, Use. Pages of later issues join their group here.
PAGES = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Learn": [st.Page("pages/learn.py", title="Convolution & pooling", icon=":material/grid_on:", url_path="learn")],
    "Train": [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page("pages/curves.py", title="Learning curves", icon=":material/show_chart:", url_path="curves"),
    ],
    "Use": [
        st.Page("pages/predict.py", title="Predict", icon=":material/draw:", url_path="predict"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:", url_path="evaluate"),
    ],
}

page = st.navigation(PAGES)
JobManager().pump()  # recover on start: vanished processes become interrupted; the queue moves
render_sidebar_status()
with routed():
    page.run()
