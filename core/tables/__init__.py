"""Tables: a CSV file, a column to predict, and a dense network that predicts it.

- ``read``: read CSV files and uploads as spreadsheets export them, detect column kinds,
  propose the task and the columns to leave out, check the target, split rows by seed.
- ``model``: a Keras model with the preprocessing inside it, built from the column kinds.
- ``metrics``: regression metrics, baselines, and rows that cannot be predicted.
"""

# core.architectures registers the table presets (core.architectures.presets imports
# core.tables.model), and core.tables.model uses core.architectures: load that package first,
# so that importing any core.tables module first does not meet a half-initialised one.
import core.architectures  # noqa: E402, F401
