"""The automated pre-deployment test suite: the seed's nine tests on a scratch copy.

A scratch database ``runbook_scratch_<id>`` on the target's server receives the
target's schema (every table, parents first, with the ``migrations`` history) and a
small, consistent sample of the parent rows. The migrations then run there with the
code the deployment uses, are verified against the model parsed from sql/, exercised
with real rows, rolled back and run again. Every expectation comes from the parsed
model, never from numbers typed here. The target is only read, and the scratch
database is dropped whatever happens (an error, Ctrl-C, a second Ctrl-C while it is
being dropped).

Where things are: ``suite`` runs the nine tests in order (``run_suite``); one module
per group of tests: ``scratch`` (1, and the drop), ``clone`` (2), ``migration`` (3, 7,
8), ``keys`` (4, 5), ``cascade`` (6, with ``rows``), ``integrity`` (9); ``live`` reads
the server's schema; ``report`` names the tests and holds the results; ``step`` and
``command`` are the flow's and the command line's drivers.
"""

from runbook.testsuite.clone import INSERT_CHUNK, SAMPLE_ROOTS, SAMPLE_ROWS
from runbook.testsuite.command import cmd_test_migrations
from runbook.testsuite.report import (
    CASCADE,
    CLONE,
    CREATE,
    FOREIGN_KEYS,
    INDEXES,
    INTEGRITY,
    MIGRATE,
    REMIGRATE,
    ROLLBACK,
    TEST_COUNT,
    SuiteReport,
    TestResult,
)
from runbook.testsuite.scratch import DROP_LOCK_WAIT_S, SCRATCH_LIKE, SCRATCH_PREFIX
from runbook.testsuite.signals import signals_deferred
from runbook.testsuite.step import ACTIONS, step_test_suite
from runbook.testsuite.suite import Emit, run_suite

__all__ = [
    "ACTIONS",
    "CASCADE",
    "CLONE",
    "CREATE",
    "DROP_LOCK_WAIT_S",
    "FOREIGN_KEYS",
    "INDEXES",
    "INSERT_CHUNK",
    "INTEGRITY",
    "MIGRATE",
    "REMIGRATE",
    "ROLLBACK",
    "SAMPLE_ROOTS",
    "SAMPLE_ROWS",
    "SCRATCH_LIKE",
    "SCRATCH_PREFIX",
    "TEST_COUNT",
    "Emit",
    "SuiteReport",
    "TestResult",
    "cmd_test_migrations",
    "run_suite",
    "signals_deferred",
    "step_test_suite",
]
