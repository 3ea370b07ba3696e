"""A password that cannot leak by accident through repr, str, f-strings or JSON."""

from __future__ import annotations

MASK = "********"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value; call it only where the secret must go (a 0600 file, a driver)."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({MASK if self._value else ''!r})"

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def mask(self, text: str) -> str:
        """``text`` with every occurrence of the secret replaced, for server errors that echo it."""
        return text.replace(self._value, MASK) if self._value else text
