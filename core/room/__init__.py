"""The room: what the audience sends from their phones during a talk, and how they reach the server.

- ``folder``: a room as an image-folder dataset (``Room``): submit, label, moderation, quota.
- ``submissions``: a submission and the room's event log, replayed incrementally.
- ``active``: the room Join sends to.
- ``network``: the address people in the room can reach (the QR code), the allowed hosts.
"""
