"""Reconcile at start-up: kill the container processes an earlier emulator left, record them, settle every group.

Emulator choice (ACI documents none): with the process engine a container found running (or gone) after an
emulator crash is killed (every leftover at once, one short grace) and recorded as Terminated with exit code
137 (SIGKILL) and a ``Killing`` event; then its restart policy applies. The Docker engine adopts the containers
still running (they go on as if nothing happened) and records the real exit code of those that ended.

A group found in its init phase (``init_phase.py``) goes on from where it was: an init container recorded as
above is retried at once (Always, OnFailure) or fails the group (Never), as an app container would; one that
exited 0 while the emulator was away (Docker) starts the next; an adopted one is watched as before.
"""

from __future__ import annotations

import time

from ..runtime.engine import Engine, LeftoverRun
from .container_groups import ContainerGroups
from .deployments import Deployments
from .instance_view import add_event, backing_off, container_id, is_transitioning, terminated_state, utc_now
from .operations import Operations
from .restart_policy import STABLE_RUN_SECONDS
from .store import Store

CRASH_EXIT_CODE = 137  # a container killed at reconcile: as if SIGKILLed


def reconcile(store: Store, runtime: Engine, groups: ContainerGroups, deployments: Deployments,
              operations: Operations) -> None:
    """Call under the backend's lock. Safe to call again: runs of this emulator are left alone.

    A recorded run whose pid is alive with the recorded start ticks is killed (its whole process group);
    one whose pid is gone is simply recorded. Either way the container becomes Terminated (exit 137) with a
    ``Killing`` event, then its restart policy applies. Deployments cut short are carried out, back-offs
    resume, and operations settle.
    """
    own = runtime.running_uids()
    leftovers = [row for row in store.live_runs() if row.run_uid not in own]
    group_uids = {group.key: group.uid for group in groups}
    recovered = runtime.recover(
        [LeftoverRun(row.run_uid, group_uids.get(_key_of(row.group_key)), row.pid, row.start_ticks)
         for row in leftovers], set(group_uids.values()))
    own = own | recovered.adopted
    store.end_runs([row.run_uid for row in leftovers if row.run_uid not in recovered.adopted])
    now = utc_now()
    for group in groups:
        # Both lists first: an init container that ended starts the next one, which is this emulator's own.
        ended = [record for record in group.records() if record.running and record.run_uid not in own]
        waiting = [record for record in group.records() if backing_off(record) and not group.stopped]
        for record in ended:
            code = recovered.ended.get(record.run_uid or "", CRASH_EXIT_CODE)
            record.running = False
            add_event(record.events, "Killing", f"Killing container with id {container_id(group, record.name)}.",
                      moment=now, merge_floor=record.merge_floor)
            start = record.current.get("startTime") if record.current else None
            record.current = terminated_state(start, code, now)
            deployments.after_exit(group, record, run_seconds=STABLE_RUN_SECONDS, started=True, immediate=True)
        for record in waiting:
            deployments.schedule_restart(group, record, 0.0)
        deployments.init_phase.resume(group)
        if is_transitioning(group):
            delay = max(0.0, (group.deploy_at or 0.0) - time.time())
            deployments.schedule_deployment(group, delay)
        groups.save(group)
    operations.settle_all()


def _key_of(text: str) -> tuple[str, str, str]:
    parts = text.split("/")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "", "")
