"""CNN Lab core: datasets, architectures, training, evaluation and inference.

Plain Python over Keras 3 (TensorFlow). Never imports streamlit.
"""

import os

# Why: TensorFlow's C++ INFO lines drown the CLI's own progress on stderr.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
