"""Exceptions raised by graphrec.

Every user mistake raises a subclass of :class:`GraphrecError` whose message names the problem and the
offending value. The CLI turns these into one line on stderr and exit code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "GraphrecError",
    "DataError",
    "ConfigError",
    "ArtifactError",
    "DatasetError",
    "UnknownIdError",
    "did_you_mean",
]


class GraphrecError(ValueError):
    """Base class of every error graphrec raises for bad input."""


class DataError(GraphrecError):
    """A data file or array is malformed (missing column, NaN id, negative weight, empty file ...)."""


class ConfigError(GraphrecError):
    """A configuration key or value is invalid (unknown key, out-of-range value)."""


class ArtifactError(GraphrecError):
    """A saved artifact is missing, truncated, or of an unsupported format version."""


class DatasetError(GraphrecError):
    """A public dataset is unknown, absent, or fails its checksum."""


class UnknownIdError(GraphrecError, KeyError):
    """An external id is not in the vocabulary."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
