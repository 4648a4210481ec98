"""Scores.

- ``classes``: accuracy, loss, the confusion matrix, per-class precision/recall/F1, the gallery filter,
  and the TensorFlow Lite export.
- ``table``: a table model's MAE, RMSE, R² (or accuracy) beside its baseline; rows that can be scored.
"""
