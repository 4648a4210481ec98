"""Home: what CNN Lab does, where to start, and what to do when there is no data yet."""

import streamlit as st

from pages._data import data_status
from pages._router import ensure_router

ensure_router()

st.title("CNN Lab")
st.markdown("See how convolutional networks work, on real images, and train real ones without writing code.")

PAGES = [
    (":material/grid_on:", "Learn", "pages/learn.py", "Convolution & pooling",
     "Slide a kernel over an image and watch the feature map appear: presets or your own numbers, "
     "stride, padding, ReLU, pooling, and the arithmetic of any single output cell."),
    (":material/model_training:", "Train", "pages/train.py", "Train",
     "Pick MNIST, a folder of class images or an uploaded zip, a preset or your own layers, and train "
     "in the background with a live progress bar and learning curves."),
    (":material/show_chart:", "Compare", "pages/curves.py", "Learning curves",
     "Every run on disk: overlay curves, see the best epoch and where early stopping fired, what "
     "differs between runs; download or delete them."),
    (":material/draw:", "Predict", "pages/predict.py", "Predict",
     "Draw a digit (a model ships with the app) or upload images: what the model sees, how sure it "
     "is, Grad-CAM and feature maps, and probes to find where it breaks."),
    (":material/fact_check:", "Evaluate", "pages/evaluate.py", "Evaluate",
     "Confusion matrix, per-class precision and recall, the most confident mistakes; export the "
     "model as .keras or TensorFlow Lite."),
]  # fmt: skip
for row in (PAGES[:3], PAGES[3:]):
    for col, (icon, head, path, label, text) in zip(st.columns(3, border=True), row):
        with col:
            st.subheader(f"{icon} {head}")
            st.markdown(text)
            st.page_link(path, label=f"Open {label}", icon=":material/arrow_forward:")

st.caption("Everything also works from the command line: `python -m core.train --list-presets` (see the README).")

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
