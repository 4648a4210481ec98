"""Data a person brings.

- ``images``: load, check and convert any image a user uploads (modes, sizes, notices).
- ``folders``: folders of class images, checked file by file; the data folder (``data_dir``).
- ``mnist``: MNIST as an .npz (checked before it is trusted) or Keras's download.
- ``zip_import``: a zip of class folders, imported safely.
- ``table/``: CSV tables as spreadsheets export them, and saving an uploaded one.
"""
