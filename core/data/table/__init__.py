"""CSV tables: read as spreadsheets export them, and saved into the data folder.

- :mod:`~core.data.table.csv_file`: a CSV file's bytes (encoding, delimiter, header, rows) into a ``Table``.
- :mod:`~core.data.table.columns`: each column's kind (number with a decimal point or comma, category, text, date).
- :mod:`~core.data.table.proposals`: the task and the columns to leave out proposed, the target checked.
- :mod:`~core.data.table.split`: the seeded split of the rows into training, validation and test rows.
- :mod:`~core.data.table.listing`: how lists of names and rows are written in the messages.
- :mod:`~core.data.table.store`: an uploaded CSV saved into the data folder.
"""
