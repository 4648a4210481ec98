"""CNN Lab: a thin router. Pages live in pages/; computation lives in core/."""

import streamlit as st

from pages._common import app_icon, render_sidebar_status

# The icon is drawn by code: a Material or emoji favicon would be fetched from a CDN.
st.set_page_config(page_title="CNN Lab", page_icon=app_icon(), layout="wide")

# Grouped as the mission reads: Learn, Train, Use. Pages of later issues join their group here.
PAGES = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Learn": [st.Page("pages/learn.py", title="Convolution & pooling", icon=":material/grid_on:", url_path="learn")],
}

page = st.navigation(PAGES)
render_sidebar_status()
page.run()
