"""The throwaway rehearsal target: ``runbook sandbox up|down|status``."""

from runbook.sandbox.core import (
    MissingPackages,
    Sandbox,
    SandboxError,
    SandboxUsageError,
    default_directory,
    find_tools,
)

__all__ = [
    "MissingPackages",
    "Sandbox",
    "SandboxError",
    "SandboxUsageError",
    "default_directory",
    "find_tools",
]
