"""The one exception type that means "the user gave us something we cannot use"."""


class InputError(ValueError):
    """Bad input from a user: a missing path, a corrupt file, an absurd setting.

    Command-line entry points turn it into exit code 2 and a JSON ``{"error": ...}``;
    pages turn it into an ``st.error`` message. Its text is meant for a person.
    """


def first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's first line, cut at ``limit`` characters (its type's name when it has no text).

    How a library's failure (a converter's refusal, an unreachable cluster) is told to a person.
    """
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
