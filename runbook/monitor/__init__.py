"""Post-deployment monitoring: log followers, resource samples, issue detectors, the checkpoint.

- :class:`LogFollower` (``follower``): ``tail -F`` without reading a file whole.
- ``sampler``: the machine, the database server's process and its status deltas.
- ``detectors``: what counts as an issue, and the one table of severities.
- ``baseline``: :func:`take_baseline` (for the deploy to call before it changes
  anything) and what "performance normal" means against it.
- ``checkpoint``: the seed's four checks and the :class:`Verdict`.
- :class:`MonitorSession` (``session``): one window, driven by ``tick()``.
- ``steps``: the flow's ``monitor`` and ``checkpoint`` actions (:data:`ACTIONS`).
- ``command``: ``runbook monitor`` (:func:`cmd_monitor`).
"""

from runbook.monitor.baseline import Baseline, record_baseline, recorded_baseline, take_baseline
from runbook.monitor.checkpoint import Check, Verdict
from runbook.monitor.detectors import MAJOR, MINOR, NONE, Detectors, Hit, assess
from runbook.monitor.follower import LogFollower, Position
from runbook.monitor.session import Carry, MonitorSession, MonitorUpdate
from runbook.monitor.steps import ACTIONS, step_checkpoint, step_monitor

__all__ = [
    "ACTIONS",
    "MAJOR",
    "MINOR",
    "NONE",
    "Baseline",
    "Carry",
    "Check",
    "Detectors",
    "Hit",
    "LogFollower",
    "MonitorSession",
    "MonitorUpdate",
    "Position",
    "Verdict",
    "assess",
    "record_baseline",
    "recorded_baseline",
    "step_checkpoint",
    "step_monitor",
    "take_baseline",
]


def cmd_monitor(args: object) -> int:
    """``runbook monitor``; imported lazily so the flow's actions do not load Rich."""
    from runbook.monitor.command import cmd_monitor as run

    return run(args)  # type: ignore[arg-type]
