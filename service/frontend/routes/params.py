"""Query parameters several routes read the same way."""

from datetime import datetime

from actors.vocabulary import NotRfc3339, parse_rfc3339
from service.errors import InvalidInput


def parse_since(text: str, name: str = "since") -> datetime:
    """``since`` (or the parameter ``name``) as RFC 3339 with an offset; anything else is
    a 422 saying what to send."""
    try:
        return parse_rfc3339(text, name)
    except NotRfc3339 as exc:
        raise InvalidInput(str(exc)) from exc
