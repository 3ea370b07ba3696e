"""Exit codes shared by every command (interface.md)."""

OK = 0
FAILED = 1  # failed or refused; the target is as it was before the command
CONFIG_ERROR = 2  # usage or configuration error; nothing was touched
LOCKED = 3  # another run holds the deployment lock on this database
NEEDS_PERSON = 4  # the target changed and is not verified
