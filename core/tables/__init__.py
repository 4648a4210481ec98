"""Tables: a CSV file, a column to predict, and a dense network that predicts it.

- ``read``: read CSV files and uploads as spreadsheets export them, detect column kinds,
  propose the task and the columns to leave out, check the target, split rows by seed.
- ``model``: a Keras model with the preprocessing inside it, built from the column kinds.
- ``metrics``: regression metrics, baselines, and rows that cannot be predicted.
"""
