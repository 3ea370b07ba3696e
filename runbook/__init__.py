"""runbook: a guided, crash-safe runbook for MySQL/MariaDB schema deployments.

The engine lives here and never imports textual; the screens live in
``runbook.screens`` and are imported only by the terminal UI.
"""

__version__ = "0.1.0"
