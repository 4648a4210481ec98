"""The room: what the audience sends from their phones during a talk, and how they reach the server."""
