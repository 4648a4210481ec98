"""The hands-on challenge: the audience designs small networks on their phones, the job engine trains
them, the Wall shows a live leaderboard (docs/ARCHITECTURE.md, "The challenge").

- ``rules``: a challenge's settings (data, budget, metric, deadline), the layer picker's choices,
  an entry's model and its cost against the budget.
- ``board``: the leaderboard from the entries' run folders, and the early-stopping rule (ASHA's).
- ``contest``: a room's challenge on disk: open, submit, edit, stop, withdraw, moderate, end, crown.
"""
