"""Home: what CNN Lab does, where to start, and what to do when there is no data yet."""

import streamlit as st

from core.access.roles import ACCESS, KEY_ENV
from core.base.i18n import N_, _
from pages._data import data_status
from pages._router import ensure_router
from pages._session import is_presenter

ensure_router()

st.title("CNN Lab")
st.markdown(_("See how convolutional networks work, on real images, and train real ones without writing code."))

CARDS = {
    "learn": (":material/grid_on:", N_("Learn"), "pages/learn.py", N_("Convolution & pooling"),
              N_("Slide a kernel over an image and watch the feature map appear: presets or your own numbers, "
                 "stride, padding, ReLU, pooling, and the arithmetic of any single output cell.")),
    "train": (":material/model_training:", N_("Train"), "pages/train.py", N_("Train"),
              N_("Pick MNIST, a folder of class images or an uploaded zip, a preset or your own layers, and train "
                 "in the background with a live progress bar and learning curves.")),
    "curves": (":material/show_chart:", N_("Learning curves"), "pages/curves.py", N_("Learning curves"),
               N_("Every run on disk: overlay curves, read them in plain words with one thing to try, replay the "
                  "epochs from random kernels to the last one, see what differs between runs. Or race 2 to 4 models "
                  "against the stopwatch (Architecture race).")),
    "predict": (":material/draw:", N_("Predict"), "pages/predict.py", N_("Predict"),
                N_("Draw a digit (a model ships with the app) or upload images: what the model sees, how sure it "
                   "is (or that it does not know), Grad-CAM and feature maps, and probes to find where it breaks.")),
    "evaluate": (":material/fact_check:", N_("Evaluate"), "pages/evaluate.py", N_("Evaluate"),
                 N_("Confusion matrix, per-class precision and recall, the most confident mistakes; export the "
                    "model as .keras or TensorFlow Lite.")),
    "room": (":material/co_present:", N_("The room"), "pages/join.py", N_("Join"),
             N_("At a talk: everyone draws a digit on their phone, the model reads it, and the wall on the "
                "projector shows the room's digits, the score and the confusion matrix.")),
    "talk": (":material/present_to_all:", N_("Give a talk"), "pages/talk.py", N_("Talk"),
             N_("A deck of steps, each a page of this app set as written (two talks ship, in English and "
                "Portuguese): arrows or a clicker move on, the phones follow, draw on Join, and the Wall shows "
                "the room.")),
    "follow": (":material/slideshow:", N_("Follow the talk"), "pages/follow.py", N_("Follow the talk"),
               N_("During a talk: the speaker's current step on your phone, as it moves.")),
}  # fmt: skip
if is_presenter():
    order = ["learn", "predict", "train", "curves", "evaluate", "talk"]
else:
    order = ["learn", "predict", "room", "curves", "evaluate", "follow"]
st.info(_("**New here? Start with Learn** (how one convolution works), then **Predict** (a trained model "
          "ships with the app), then train your own."), icon=":material/flag:")  # fmt: skip
for start in range(0, len(order), 3):
    for col, key in zip(st.columns(3, border=True), order[start : start + 3]):
        icon, head, path, label, text = CARDS[key]
        with col:
            st.subheader(f"{icon} {_(head)}")
            st.markdown(_(text))
            st.page_link(path, label=_("Open {page}").format(page=_(label)), icon=":material/arrow_forward:")
if ACCESS.generated:
    st.warning(
        _("This server can be reached from other computers and `{env}` is not set: a presenter key was made for "
          "this run and printed in the server log. Without it, visitors can look, predict and join, but not train, "
          "stop, delete or import.").format(env=KEY_ENV),
        icon=":material/key:",
    )  # fmt: skip

st.caption(_("Everything also works from the command line: `python -m core.train --list-presets` (see the README)."))

status = data_status()
st.subheader(":material/folder_open: " + _("Your data"))
if status["mnist"] or status["folders"]:
    st.markdown(_("Found in `{root}`:").format(root=status["root"]))
    for path in status["mnist"][:1]:
        st.markdown(_("- MNIST digits: `{path}`").format(path=path))
    for path in status["folders"]:
        st.markdown(_("- Image folder: `{path}`").format(path=path))
else:
    st.info(
        _("No data in `{root}` yet. The Learn page works anyway (it draws its own test image, and you can upload "
          "a photo or use the camera).\n\n"
          "- **MNIST:** put `mnist.npz` (Keras key names) in that folder, or let training download it with Keras "
          "when online.\n"
          "- **Your own images:** one subfolder per class, e.g. `data/chest-orientation/frontal/*.png` and "
          "`data/chest-orientation/lateral/*.png`.\n"
          "- Or point `CNNLAB_DATA_DIR` at an existing data folder before `streamlit run`.").format(root=status["root"])
    )  # fmt: skip
