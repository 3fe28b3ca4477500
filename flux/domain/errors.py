"""The base of the errors domain rules raise; the API turns each into a problem document."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A rule of domain.md refuses an input: a French message for the user, with its figures.

    The message is shown as is to French public bodies, so it carries the figures in words too;
    `figures` repeats them for machines (basis points as integers, dates as ISO strings).
    """

    def __init__(self, message: str, figures: Mapping[str, str | int] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.figures: dict[str, str | int] = dict(figures or {})
