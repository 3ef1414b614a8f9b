"""The restart policy (Always / OnFailure / Never) and the crash-loop back-off, applied to a container record.

Pure bookkeeping on the records: it decides whether and when a terminated container restarts, and records
the Waiting state and the ACI events that go with it. ``Deployments`` schedules the restart it asks for.

Emulator choices (ACI documents none of these numbers): back-off ``backoff_base_seconds`` (0.5 s) doubling
up to ``backoff_cap_seconds`` (10 s); a run that lasted ``STABLE_RUN_SECONDS`` resets it. ACI/Kubernetes use
10 s doubling up to 5 min.
"""

from __future__ import annotations

from .instance_view import CRASH_LOOP_DETAIL, ContainerRecord, GroupRecord, add_event, container_id

STABLE_RUN_SECONDS = 10.0


class RestartPolicy:
    def __init__(self, backoff_base_seconds: float = 0.5, backoff_cap_seconds: float = 10.0):
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_cap_seconds = backoff_cap_seconds

    def after_exit(self, group: GroupRecord, record: ContainerRecord, *, run_seconds: float, started: bool,
                   immediate: bool = False, policy: str | None = None) -> float | None:
        """Apply the policy (the group's unless given: an init container's differs) to a container that has just
        terminated: the delay before it restarts (it is now Waiting), or None when it stays Terminated."""
        exit_code = record.current.get("exitCode", 0) if record.current else 0
        policy = policy or group.restart_policy
        if group.stopped or policy == "Never" or (policy == "OnFailure" and exit_code == 0):
            return None
        if started:
            add_event(record.events, "Killing", f"Killing container with id {container_id(group, record.name)}.",
                      merge_floor=record.merge_floor)
        record.crash_streak = record.crash_streak + 1 if run_seconds < STABLE_RUN_SECONDS else 1
        delay = 0.0 if immediate else min(self.backoff_base_seconds * 2 ** (record.crash_streak - 1),
                                          self.backoff_cap_seconds)
        record.previous = record.current
        record.current = {"state": "Waiting", "detailStatus": CRASH_LOOP_DETAIL}
        if delay > 0:
            add_event(record.events, "BackOff", "Back-off restarting failed container", "Warning",
                      merge_floor=record.merge_floor)
        return delay
