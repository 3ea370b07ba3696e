"""The seed's deployment flow as data: phases, steps and the decisions between them.

Drivers (the headless CLI, the Textual screens, dry-run as a mode of both) walk
this graph; none of them re-implements a step or hard-codes the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    estimate: str  # the seed's own words, shown beside the measured time


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    phase: str
    estimate_s: float  # the seed's estimate, for "elapsed against estimate"
    checklist: tuple[str, ...]
    next: str | None
    writes: bool = False  # changes the target or the app; shown, not done, in dry-run
    on_fail: str | None = None  # where a failure leads; None: the run stops there


@dataclass(frozen=True)
class Decision:
    """A branch of the seed. ``question`` is asked through the prompter unless ``automatic``."""

    id: str
    title: str
    phase: str
    branches: dict[str, str]  # answer -> next node id
    safe: str
    automatic: bool = False
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class End:
    id: str
    title: str
    phase: str
    outcome: str  # success | stopped | rolled_back | needs_person


Node = Step | Decision | End

PHASES: tuple[Phase, ...] = (
    Phase("pre", "Pre-deployment", "45 min"),
    Phase("deploy", "Production deployment", "3 min"),
    Phase("monitor", "Post-deployment monitoring", "30 min"),
    Phase("rollback", "Rollback procedure", "as needed"),
    Phase("report", "Post-deployment notification", "at every end"),
)

_NODES: tuple[Node, ...] = (
    # -- pre-deployment ------------------------------------------------------------
    Step(
        "docs",
        "Review documentation",
        "pre",
        15 * 60,
        ("Deployment plan read", "Deployment checklist read", "Readiness summary read"),
        next="test_suite",
        on_fail="stopped",
    ),
    Step(
        "test_suite",
        "Run automated test suite",
        "pre",
        7.5 * 60,
        (
            "Test database creation",
            "Schema cloning",
            "Migration execution (6 tables)",
            "Foreign key validation (CASCADE)",
            "Index verification",
            "Cascade delete testing",
            "Rollback testing",
            "Re-migration testing",
            "Data integrity check",
        ),
        next="tests_failed",
        on_fail="tests_failed",
    ),
    Decision(
        "tests_failed",
        "Tests failed?",
        "pre",
        branches={"stop": "stopped", "proceed": "preflight"},
        safe="stop",
        automatic=True,
        labels={
            "stop": "STOP DEPLOYMENT: review logs, fix issues, re-test",
            "proceed": "Proceed to deployment",
        },
    ),
    End("stopped", "Deployment stopped", "pre", outcome="stopped"),
    # -- production deployment -----------------------------------------------------
    Step(
        "preflight",
        "Pre-deployment checks",
        "deploy",
        5,
        (
            "Database connectivity",
            "Critical tables exist",
            "Backup directory writable",
            "Laravel application present",
        ),
        next="lock",
        on_fail="stopped",
    ),
    Step(
        "lock",
        "Take the deployment lock",
        "deploy",
        1,
        ("GET_LOCK on a dedicated connection",),
        next="backup",
        on_fail="stopped",
    ),
    Step(
        "backup",
        "Phase 1: Database backup",
        "deploy",
        120,
        (
            "Full database dump",
            "Compress with gzip",
            "Secure permissions (600)",
            "Verify the backup",
        ),
        next="maintenance",
        writes=True,
        on_fail="stopped",
    ),
    Step(
        "maintenance",
        "Phase 2: Maintenance mode",
        "deploy",
        5,
        ("php artisan down --retry=60", "HTTP 503 with Retry-After"),
        next="cache",
        writes=True,
        on_fail="restore_after_failure",
    ),
    Step(
        "cache",
        "Phase 3: Cache clearing",
        "deploy",
        5,
        ("php artisan config:clear", "php artisan cache:clear"),
        next="migrate",
        writes=True,
        on_fail="restore_after_failure",
    ),
    Step(
        "migrate",
        "Phase 4: Migration execution",
        "deploy",
        1,
        (
            "notification_configurations",
            "policy_configurations",
            "callback_requests",
            "appointment_modifications",
            "callback_escalations",
            "appointment_modification_stats",
        ),
        next="migration_failed",
        writes=True,
        on_fail="migration_failed",
    ),
    Decision(
        "migration_failed",
        "Migration failed?",
        "deploy",
        branches={"yes": "auto_rollback", "no": "verify"},
        safe="yes",
        automatic=True,
        labels={"yes": "AUTO ROLLBACK: log error, exit 1, database unchanged", "no": "Continue"},
    ),
    Step(
        "auto_rollback",
        "Automatic rollback",
        "deploy",
        5,
        (
            "Drop the tables this run created",
            "Delete their migrations rows",
            "Schema equals the pre-deployment fingerprint",
        ),
        next="restore_after_failure",
        writes=True,
        on_fail="needs_person",
    ),
    Step(
        "verify",
        "Phase 5: Post-deployment verification",
        "deploy",
        10,
        (
            "6 tables created",
            "Foreign keys and ON DELETE rules",
            "Indexes created",
            "No orphaned records",
            "CASCADE delete rules",
        ),
        next="verification_failed",
        on_fail="verification_failed",
    ),
    Decision(
        "verification_failed",
        "Verification failed?",
        "deploy",
        branches={"rollback": "auto_rollback", "keep": "keep_unverified", "no": "restore"},
        safe="rollback",
        labels={
            "rollback": "Roll back the migrations (safe)",
            "keep": "Keep the schema, check by hand (exit 4)",
            "no": "Verified",
        },
    ),
    Step(
        "keep_unverified",
        "Error exit: manual check",
        "deploy",
        5,
        ("Log details", "Bring the application back up"),
        next="needs_person",
        writes=True,
    ),
    Step(
        "restore",
        "Phase 6: Application restore",
        "deploy",
        5,
        (
            "php artisan config:clear",
            "php artisan cache:clear",
            "php artisan route:clear",
            "php artisan view:clear",
            "php artisan up",
            "Verify HTTP 200",
        ),
        next="deployed",
        writes=True,
        on_fail="needs_person",
    ),
    Step(
        "restore_after_failure",
        "Application restore after failure",
        "deploy",
        5,
        ("php artisan up", "Verify HTTP 200"),
        next="failed",
        writes=True,
        on_fail="needs_person",
    ),
    End("deployed", "Deployment successful", "deploy", outcome="success"),
    End(
        "already_applied",
        "Already applied and verified: nothing to do",
        "deploy",
        outcome="success",
    ),
    End("failed", "Deployment failed; target unchanged", "deploy", outcome="failed"),
    End(
        "needs_person",
        "Needs a person: target changed and not verified",
        "deploy",
        outcome="needs_person",
    ),
    # -- post-deployment monitoring ------------------------------------------------
    Step(
        "monitor",
        "Post-deployment monitoring",
        "monitor",
        30 * 60,
        (
            "Application log: foreign key and database errors",
            "MySQL error log: constraint violations, deadlocks",
            "System resources: memory spikes, CPU issues",
            "Functional testing: the application answers",
        ),
        next="issues_detected",
        on_fail="issues_detected",
    ),
    Decision(
        "issues_detected",
        "Issues detected?",
        "monitor",
        branches={"rollback": "rollback_choice", "continue": "monitor", "none": "checkpoint"},
        safe="rollback",
        labels={
            "rollback": "MAJOR: roll back",
            "continue": "MINOR: continue monitoring",
            "none": "No issues",
        },
    ),
    Step(
        "checkpoint",
        "30-minute checkpoint",
        "monitor",
        1,
        (
            "No errors in application logs",
            "No database constraint violations",
            "Application performance normal",
            "No user-reported issues",
        ),
        next="checkpoint_failed",
        on_fail="checkpoint_failed",
    ),
    # Not back to "Issues detected?": a window's past errors would fail every later
    # checkpoint again, and "continue monitoring" would never end.
    Decision(
        "checkpoint_failed",
        "Checkpoint failed?",
        "monitor",
        branches={
            "rollback": "rollback_choice",
            "accept": "monitoring_complete",
            "no": "monitoring_complete",
        },
        safe="rollback",
        labels={
            "rollback": "Roll back",
            "accept": "Accept: minor issues, recorded in the report",
            "no": "Checkpoint passed",
        },
    ),
    End("monitoring_complete", "Monitoring complete", "monitor", outcome="success"),
    # -- rollback procedure --------------------------------------------------------
    Decision(
        "rollback_choice",
        "Which rollback?",
        "rollback",
        branches={"migrations": "rollback_a", "restore": "rollback_b"},
        safe="migrations",
        labels={
            "migrations": "Option A: migration rollback (down files, newest first)",
            "restore": "Option B: restore the pre-deployment backup",
        },
    ),
    Step(
        "rollback_a",
        "Option A: migration rollback",
        "rollback",
        5,
        (
            "No later migration or table depends on these tables",
            "Rows that dropping will lose, shown and confirmed",
            "Down files, newest first, and their migrations rows",
            "Schema equals the pre-deployment fingerprint",
        ),
        next="post_rollback",
        writes=True,
        on_fail="needs_person",
    ),
    Step(
        "rollback_b",
        "Option B: database restore",
        "rollback",
        60,
        (
            "Backup verified (gzip, trailer, sha256)",
            "What will be lost, shown and confirmed",
            "Maintenance mode on",
            "Restore with progress",
            "Database equals the backup",
            "Application answers 200",
        ),
        next="post_rollback",
        writes=True,
        on_fail="needs_person",
    ),
    Step(
        "post_rollback",
        "Post-rollback",
        "rollback",
        60,
        ("Verify the app works", "Document issues", "Schedule re-deploy"),
        next="rolled_back",
    ),
    End("rolled_back", "Rolled back", "rollback", outcome="rolled_back"),
    End("rollback_refused", "Rollback refused; target unchanged", "rollback", outcome="failed"),
)

# Run after every end of a walk, whatever the outcome (the seed's notification box):
# the walker calls their actions once an End is reached or the run aborted. The archive
# comes first so that the notification can say where it is.
FINALLY: tuple[Step, ...] = (
    Step(
        "archive",
        "Archive deployment logs",
        "report",
        5,
        ("Journal, report and log excerpts in a 0600 tar.gz",),
        next=None,
    ),
    Step(
        "notify",
        "Post-deployment notification",
        "report",
        5,
        ("Send the summary to the team", "Document completion"),
        next=None,
    ),
)

NODES: dict[str, Node] = {node.id: node for node in (*_NODES, *FINALLY)}


def path_from(start: str, choose: dict[str, str] | None = None) -> list[str]:
    """The happy path from ``start``: each decision takes its non-failure branch."""
    happy = {
        "tests_failed": "proceed",
        "migration_failed": "no",
        "verification_failed": "no",
        "issues_detected": "none",
        "checkpoint_failed": "no",
        "rollback_choice": "migrations",
    }
    happy.update(choose or {})
    out: list[str] = []
    node_id: str | None = start
    while node_id is not None and node_id not in out:
        out.append(node_id)
        node = NODES[node_id]
        if isinstance(node, End):
            break
        node_id = node.branches[happy[node.id]] if isinstance(node, Decision) else node.next
    return out


def check_graph() -> list[str]:
    """Every edge points at a node; run by the tests so a typo cannot ship."""
    problems = []
    for node in _NODES:
        targets: list[str | None] = []
        if isinstance(node, Step):
            targets = [node.next, node.on_fail]
        elif isinstance(node, Decision):
            targets = list(node.branches.values())
            if node.safe not in node.branches:
                problems.append(f"{node.id}: safe answer {node.safe!r} is not a branch")
        problems += [f"{node.id} -> {t}: no such node" for t in targets if t and t not in NODES]
    return problems
