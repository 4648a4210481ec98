"""Home: what CNN Lab does, where to start, and what to do when there is no data yet."""

import streamlit as st

from core.roles import ACCESS, KEY_ENV
from pages._data import data_status
from pages._router import ensure_router
from pages._session import is_presenter

ensure_router()

st.title("CNN Lab")
st.markdown("See how convolutional networks work, on real images, and train real ones without writing code.")

CARDS = {
    "learn": (":material/grid_on:", "Learn", "pages/learn.py", "Convolution & pooling",
              "Slide a kernel over an image and watch the feature map appear: presets or your own numbers, "
              "stride, padding, ReLU, pooling, and the arithmetic of any single output cell."),
    "train": (":material/model_training:", "Train", "pages/train.py", "Train",
              "Pick MNIST, a folder of class images or an uploaded zip, a preset or your own layers, and train "
              "in the background with a live progress bar and learning curves."),
    "curves": (":material/show_chart:", "Learning curves", "pages/curves.py", "Learning curves",
               "Every run on disk: overlay curves, see the best epoch and where early stopping fired, what "
               "differs between runs; download them."),
    "predict": (":material/draw:", "Predict", "pages/predict.py", "Predict",
                "Draw a digit (a model ships with the app) or upload images: what the model sees, how sure it "
                "is, Grad-CAM and feature maps, and probes to find where it breaks."),
    "evaluate": (":material/fact_check:", "Evaluate", "pages/evaluate.py", "Evaluate",
                 "Confusion matrix, per-class precision and recall, the most confident mistakes; export the "
                 "model as .keras or TensorFlow Lite."),
    "room": (":material/co_present:", "The room", "pages/join.py", "Join",
             "At a talk: everyone draws a digit on their phone, the model reads it, and the wall on the "
             "projector shows the room's digits, the score and the confusion matrix."),
}  # fmt: skip
order = ["learn", "predict", "train" if is_presenter() else "room", "curves", "evaluate",
         "room" if is_presenter() else "train"]  # fmt: skip
order = [k for k in order if k != "train" or is_presenter()]
st.info("**New here? Start with Learn** (how one convolution works), then **Predict** (a trained model "
        "ships with the app), then train your own.", icon=":material/flag:")  # fmt: skip
for start in range(0, len(order), 3):
    for col, key in zip(st.columns(3, border=True), order[start : start + 3]):
        icon, head, path, label, text = CARDS[key]
        with col:
            st.subheader(f"{icon} {head}")
            st.markdown(text)
            st.page_link(path, label=f"Open {label}", icon=":material/arrow_forward:")
if ACCESS.generated:
    st.warning(
        f"This server can be reached from other computers and `{KEY_ENV}` is not set: a presenter key was "
        "made for this run and printed in the server log. Without it, visitors can look, predict and join, "
        "but not train, stop, delete or import.",
        icon=":material/key:",
    )

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
