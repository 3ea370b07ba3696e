"""Where the shipped migrations and assets live, wherever the package is installed."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def sql_dir() -> Traversable:
    """The shipped migration set (``sql/`` in the checkout)."""
    return files("runbook.sql")


def assets_dir() -> Traversable:
    """Styles, templates and the documents shown in the app (``assets/`` in the checkout)."""
    return files("runbook.assets")
