"""Between the engine's worker thread and the UI thread: events in, answers out.

The engine calls the sink and the prompter from its worker thread. Neither
touches a widget: the sink queues the event and wakes the UI with at most one
message per batch (a monitor following a log at 10 000 lines/s would otherwise
flood the message queue and make key presses wait); the prompter asks the UI
thread to open a modal and blocks the worker until the answer comes back.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from runbook import flow
from runbook.engine import Event
from runbook.prompter import Question
from runbook.signals import Interrupted

if TYPE_CHECKING:
    from runbook.engine import Context

_FINALLY = {node.id for node in flow.FINALLY}


class EventsReady(Message):
    """Events are waiting in the bridge; the UI drains them."""


class RunStarted(Message):
    def __init__(self, kind: str, journal: Path | None) -> None:
        super().__init__()
        self.kind = kind
        self.journal = journal


class RunDone(Message):
    def __init__(
        self,
        kind: str,
        outcome: str,
        exit_code: int,
        journal: Path | None,
        error: str | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.outcome = outcome
        self.exit_code = exit_code
        self.journal = journal
        self.error = error


class Aborted(Interrupted):
    """The operator (or a signal to the app) asked the running walk to stop and clean up.

    The walker treats it like SIGTERM: journals "aborted", runs its cleanup (drop
    what this run created, bring the application up) and ends the run.
    """

    def __init__(self, why: str = "operator") -> None:
        super().__init__(why)


class AbortRequest:
    """The operator asked the walk to stop. Delivered ONCE, by whichever of the sink or the
    prompter the worker reaches first: the walker's cleanup emits events and may ask too,
    and must not be interrupted in turn."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requested = False
        self.delivered = False

    def request(self) -> None:
        with self._lock:
            self.requested = True

    def reset(self) -> None:
        with self._lock:
            self.requested = self.delivered = False

    @property
    def pending(self) -> bool:
        return self.requested and not self.delivered

    def take(self) -> bool:
        with self._lock:
            if self.requested and not self.delivered:
                self.delivered = True
                return True
            return False


class EventBridge:
    """The sink side. A pending abort makes the next event raise in the worker."""

    DRAIN_MAX = 5000  # events folded per wake-up; the rest wait for the next one

    def __init__(self, post: Callable[[Message], Any], abort: AbortRequest) -> None:
        self._post = post
        self._queue: deque[Event] = deque()
        self._lock = threading.Lock()
        self._posted = False
        self.abort = abort

    def sink(self, event: Event) -> None:
        self._queue.append(event)
        with self._lock:
            wake, self._posted = not self._posted, True
        if wake:
            self._post(EventsReady())
        if self.abort.pending and self._interruptible(event) and self.abort.take():
            # Raised inside the step that emitted: the walker catches it like a signal,
            # journals "aborted" and runs its cleanup.
            raise Aborted()

    @staticmethod
    def _interruptible(event: Event) -> bool:
        return event.node not in _FINALLY and event.kind not in ("aborted", "run_end")

    def drain(self) -> tuple[list[Event], bool]:
        """Everything queued (up to DRAIN_MAX), and whether more is left."""
        with self._lock:
            self._posted = False
        out: list[Event] = []
        try:
            while len(out) < self.DRAIN_MAX:
                out.append(self._queue.popleft())
        except IndexError:
            return out, False
        more = bool(self._queue)
        if more:
            with self._lock:
                self._posted = True
            self._post(EventsReady())
        return out, more


_ABORT = object()


class TuiPrompter:
    """The engine's prompter: a modal on the UI thread, the worker waits for its answer.

    ``open_question(question, done)`` and ``open_text(question, done)`` run on the
    UI thread and must call ``done(answer)`` exactly once. ``ctx`` is the running
    walk's context: the rollback picker puts the chosen backup in its state
    before answering (the worker is blocked meanwhile, so nothing races).
    """

    def __init__(
        self,
        call_from_thread: Callable[..., Any],
        open_question: Callable[[Question, Callable[[Any], None]], None],
        open_text: Callable[[Question, Callable[[Any], None]], None],
        abort: AbortRequest,
    ) -> None:
        self._call = call_from_thread
        self._open_question = open_question
        self._open_text = open_text
        self.abort = abort
        self.ctx: Context | None = None
        self._waiting: queue.Queue[Any] | None = None

    def reset(self) -> None:
        self.ctx = None

    def wake(self) -> None:
        """Unblock a waiting worker (an abort was requested): its ask() raises Aborted."""
        box = self._waiting
        if box is not None:
            box.put(_ABORT)

    @property
    def waiting(self) -> bool:
        return self._waiting is not None

    def ask(self, question: Question) -> str:
        return str(self._wait(self._open_question, question))

    def ask_text(self, question: Question) -> str:
        return str(self._wait(self._open_text, question))

    def _wait(self, opener: Callable[..., None], question: Question) -> Any:
        if self.abort.take():
            raise Aborted()
        box: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._waiting = box
        try:
            if self.abort.take():
                raise Aborted()
            self._call(opener, question, box.put)
            answer = box.get()
            if answer is _ABORT:
                if self.abort.take():
                    raise Aborted()
                answer = box.get()  # already delivered elsewhere: wait for the person
        finally:
            self._waiting = None
        return answer
