from runbook.cli import entry

entry()
