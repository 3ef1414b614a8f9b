"""Following a log by polling: yield only the lines not seen before.

ACI has no streaming log API; ``az container logs --follow`` re-prints the whole log every 2 s with
ANSI cursor moves, which repeats lines anywhere that is not a terminal (azure-cli#21298). We keep a
cursor instead and emit only what is new.
"""

from __future__ import annotations

from dataclasses import dataclass

RESTART_MARKER = "--- the log restarted (the container was restarted); new output follows ---"


@dataclass
class LogCursor:
    """How many complete lines of the log were already emitted, and the last partial line."""

    emitted: int = 0
    partial: str = ""

    def advance(self, content: str) -> list[str]:
        """The new complete lines of ``content`` (the whole current log), in order.

        A trailing line without a newline is held back until it is complete, so it is never emitted twice.
        If the log is shorter than what was emitted, the container restarted: a marker and the new log.
        """
        lines = content.split("\n")
        tail = lines.pop()  # "" when content ends with a newline, else an unfinished line
        new: list[str] = []
        if len(lines) < self.emitted:
            new.append(RESTART_MARKER)
            self.emitted = 0
        new.extend(lines[self.emitted:])
        self.emitted = len(lines)
        self.partial = tail
        return new

    def restart(self) -> list[str]:
        """The container was restarted (its restart count rose): the log now is the new run's, from line 0.

        Needed because a new run can be as long as the old one by the time we look, which no length check sees.
        """
        self.emitted = 0
        self.partial = ""
        return [RESTART_MARKER]

    def flush(self) -> list[str]:
        """The held-back partial line, once the log is final."""
        if self.partial:
            line, self.partial = self.partial, ""
            self.emitted += 1
            return [line]
        return []
