"""Home: what CNN Lab does, where to start, and what to do when there is no data yet."""

import streamlit as st

from pages._common import data_status, ensure_router

ensure_router()

st.title("CNN Lab")
st.markdown("See how convolutional networks work, on real images, and train real ones without writing code.")

col_learn, col_cli = st.columns(2, border=True)
with col_learn:
    st.subheader(":material/grid_on: Learn")
    st.markdown(
        "Slide a kernel over an image and watch the feature map appear: presets (Sobel, "
        "Laplacian, blur...) or your own numbers, stride, padding, ReLU, max and average "
        "pooling, and the arithmetic of any single output cell."
    )
    st.page_link("pages/learn.py", label="Open Convolution & pooling", icon=":material/arrow_forward:")
with col_cli:
    st.subheader(":material/terminal: Train and predict")
    st.markdown(
        "Training, evaluation and prediction work today from the command line (the Train and Use pages come next):"
    )
    st.code(
        "python -m core.train --list-presets\n"
        "python -m core.train --task mnist --data data/mnist.npz --preset mnist-fast\n"
        "python -m core.train --task images --data data/chest-orientation --preset orientation-fast\n"
        "python -m core.runs list",
        language="bash",
    )

status = data_status()
st.subheader(":material/folder_open: Your data")
if status["mnist"] or status["folders"]:
    st.markdown(f"Found in `{status['root']}`:")
    for path in status["mnist"][:1]:
        st.markdown(f"- MNIST digits: `{path}`")
    for path in status["folders"]:
        st.markdown(f"- Image folder: `{path}`")
else:
    st.info(
        f"No data in `{status['root']}` yet. The Learn page works anyway (it draws its own test "
        "image, and you can upload a photo or use the camera).\n\n"
        "- **MNIST:** put `mnist.npz` (Keras key names) in that folder, or let training download it "
        "with Keras when online.\n"
        "- **Your own images:** one subfolder per class, e.g. `data/chest-orientation/frontal/*.png` "
        "and `data/chest-orientation/lateral/*.png`.\n"
        "- Or point `CNNLAB_DATA_DIR` at an existing data folder before `streamlit run`."
    )
