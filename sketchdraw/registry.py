"""Name -> object registries for the pluggable parts (models, losses, augment policies, metrics, presets).

A notebook parameter is a string; a registry turns it into the thing it names, or into a clear
error that lists the close names, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def close_matches(name: str, candidates, limit: int = 3) -> list[str]:
    """The candidates closest to `name` (case-insensitive), best first."""
    lowered = {candidate.lower(): candidate for candidate in candidates}
    hits = difflib.get_close_matches(str(name).lower(), list(lowered), n=limit, cutoff=0.5)
    return [lowered[hit] for hit in hits]


def unknown_name_message(kind: str, name: str, candidates) -> str:
    """'unknown model 'tutorail'; did you mean 'tutorial'? Known: ...' in one place for every registry."""
    candidates = sorted(candidates)
    message = f"unknown {kind} {name!r}"
    suggestions = close_matches(name, candidates)
    if suggestions:
        message += "; did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
    if len(candidates) <= 30:
        message += " Known: " + ", ".join(candidates) + "."
    return message


class Registry(Generic[T]):
    """A dict of named entries with a decorator to add to it and helpful lookups."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def get(self, name: str) -> T:
        if not isinstance(name, str) or name not in self._entries:
            raise ValueError(unknown_name_message(self.kind, str(name), self._entries))
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
