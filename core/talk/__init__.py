"""Talk mode: a deck is a Markdown file of steps, each with a live view of the app.

``deck.py`` reads a deck (the format is in the README, "Write a deck") and refuses a bad one
with its line; ``views.py`` checks each step's live view and says what a step needs that this
machine lacks; ``library.py`` lists the shipped decks (``core/assets/decks``) and the data
folder's (``decks/``); ``live.py`` is the talk being given: which deck and step, moved only by
the presenter, read by every follower's phone.
"""
