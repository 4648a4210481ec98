"""CNN Lab core: plain Python over Keras 3 (TensorFlow). Never imports streamlit.

Laid out by concept, each subpackage importing only those below it (docs/ARCHITECTURE.md,
"The layers"): the entry points ``train``, ``evaluate`` and ``predict`` (``python -m core.<name>``);
``teaching``; ``tasks``; ``serving`` and ``training``; ``room`` and ``runs``; ``plots`` and ``metrics``;
``models``; ``data``; ``access``; ``base``.
"""

import os

# Why: TensorFlow's C++ INFO lines drown the CLI's own progress on stderr.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
