"""The base layer: what every other layer uses. Imports nothing of core.

- ``errors``: ``InputError``, the one exception that means "the user gave us something we cannot use".
- ``i18n``: languages (English, Brazilian Portuguese), ``_()``, number formats, catalog maintenance.
- ``settings``: one declaration per setting (type, range, help, tasks) -> CLI flag, widget, check.
- ``storage``: atomic writes, a file lock, defensive JSON/CSV reads, safe names.
- ``cli``: the command-line contract (progress on stderr, one JSON line on stdout) and ``run_module``.
- ``quiet``: TensorFlow's start-up chatter off the command line.
"""
