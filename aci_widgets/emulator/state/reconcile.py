"""Reconcile at start-up: kill the container processes an earlier emulator left, record them, settle every group.

Emulator choice (ACI documents none): a container found running (or gone) after an emulator crash is killed
and recorded as Terminated with exit code 137 (SIGKILL) and a ``Killing`` event; then its restart policy
applies.
"""

from __future__ import annotations

import time

from ..runtime.process import ProcessRuntime, find_processes_with_env, kill_leftover_process
from .container_groups import ContainerGroups
from .deployments import RUN_MARKER_ENV, Deployments
from .instance_view import add_event, container_id, is_transitioning, terminated_state, utc_now
from .operations import Operations
from .restart_policy import STABLE_RUN_SECONDS
from .store import Store

CRASH_EXIT_CODE = 137  # a container killed at reconcile: as if SIGKILLed


def reconcile(store: Store, runtime: ProcessRuntime, groups: ContainerGroups, deployments: Deployments,
              operations: Operations) -> None:
    """Call under the backend's lock. Safe to call again: runs of this emulator are left alone.

    A recorded run whose pid is alive with the recorded start ticks is killed (its whole process group);
    one whose pid is gone is simply recorded. Either way the container becomes Terminated (exit 137) with a
    ``Killing`` event, then its restart policy applies. Deployments cut short are carried out, back-offs
    resume, and operations settle.
    """
    own = runtime.running_uids()
    leftovers = [row for row in store.live_runs() if row.run_uid not in own]
    for row in leftovers:
        if row.pid is None:
            for pid in find_processes_with_env(RUN_MARKER_ENV, row.run_uid):
                kill_leftover_process(pid, None)
        else:
            kill_leftover_process(row.pid, row.start_ticks)
    store.end_runs([row.run_uid for row in leftovers])
    now = utc_now()
    for group in groups:
        for record in group.containers.values():
            if record.running and record.run_uid not in own:
                record.running = False
                add_event(record.events, "Killing", f"Killing container with id {container_id(group, record.name)}.",
                          moment=now, merge_floor=record.merge_floor)
                start = record.current.get("startTime") if record.current else None
                record.current = terminated_state(start, CRASH_EXIT_CODE, now)
                deployments.after_exit(group, record, run_seconds=STABLE_RUN_SECONDS, started=True,
                                       immediate=True)
            elif record.current is not None and record.current["state"] == "Waiting" and not group.stopped:
                deployments.schedule_restart(group, record, 0.0)
        if is_transitioning(group):
            delay = max(0.0, (group.deploy_at or 0.0) - time.time())
            deployments.schedule_deployment(group, delay)
        groups.save(group)
    operations.settle_all()
