"""Serving a trained model to many sessions.

- ``inference``: what the model sees of an upload, a run's model loaded once (``Served``), predictions.
- ``ood``: "I don't know": the familiarity score and its calibration.
- ``explain``: feature maps and Grad-CAM.
- ``default_model``: the MNIST model shipped with the app (``core/assets/mnist-default``).

:func:`core.tasks.serve` is the door: it passes the run's task's choices in.
"""
