"""Who may do what, and how much: the presenter and the audience, rate limits and quotas.

- ``roles``: ``Actor`` (a session, presenting or not, and its address), the presenter key, ``require_presenter``.
- ``limits``: sliding-window rates per session and per address (``take``), upload quotas.
"""
