"""The one exception type that means "the user gave us something we cannot use"."""


class InputError(ValueError):
    """Bad input from a user: a missing path, a corrupt file, an absurd setting.

    Command-line entry points turn it into exit code 2 and a JSON ``{"error": ...}``;
    pages turn it into an ``st.error`` message. Its text is meant for a person.
    """
