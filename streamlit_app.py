"""CNN Lab: a thin entry point. Pages live in pages/; computation lives in core/."""

import streamlit as st

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")

st.title("CNN Lab")
st.markdown(
    "See how convolutional networks work and train real ones without writing code.\n\n"
    "The pages (Learn, Train, Use) are being built. Today everything works from the "
    "command line: `python -m core.train --list-presets`, then see the README."
)
