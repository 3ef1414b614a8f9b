"""Concurrency: 5 threads × 50 mixed create / delete / list operations on one resource group (issue 8, item 3).

Each thread works on names of its own, so it knows exactly which of its groups must exist after each of its
own operations, whatever the others do meanwhile. Pass: every list (during the churn) has no duplicate and
agrees with the thread's own model, and the final list is exactly the union of the threads' models: no lost
and no duplicated group. Containers run ``true`` with restart policy Never: they exit at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

THREADS = 5
OPERATIONS = 50
SEED = 3


def quick_group() -> dict[str, Any]:
    return {"location": "eastus", "properties": {"osType": "Linux", "restartPolicy": "Never", "containers": [
        {"name": "main", "properties": {"image": "alpine", "command": ["true"],
                                        "resources": {"requests": {"cpu": 0.1, "memoryInGB": 0.1}}}}]}}


def test_mixed_operations_from_five_threads(make_sdk_clients: Callable[..., Any], resource_group: str) -> None:
    rg = resource_group
    expected: list[set[str]] = [set() for _ in range(THREADS)]
    failures: list[str] = []
    counts: Counter[str] = Counter()
    counts_lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        ci, _ = make_sdk_clients(retry_total=0)  # a client per thread, as separate notebook users would have
        rnd = random.Random(SEED * 100 + index)
        mine = expected[index]
        created = 0
        barrier.wait()
        for step in range(OPERATIONS):
            action = rnd.choice(["create", "create", "delete", "list"])
            if action == "delete" and not mine:
                action = "create"
            try:
                if action == "create":
                    name = f"t{index}-{created:03d}"
                    created += 1
                    ci.container_groups.begin_create_or_update(rg, name, quick_group())  # 201 = it exists now
                    mine.add(name)
                elif action == "delete":
                    name = rnd.choice(sorted(mine))
                    result = ci.container_groups.begin_delete(rg, name).result()
                    if result is None:
                        failures.append(f"thread {index} step {step}: delete {name} found nothing (204)")
                    mine.discard(name)
                else:
                    names = [group.name for group in ci.container_groups.list_by_resource_group(rg)]
                    duplicated = [name for name, count in Counter(names).items() if count > 1]
                    if duplicated:
                        failures.append(f"thread {index} step {step}: list has duplicates {duplicated}")
                    own = {name for name in names if name.startswith(f"t{index}-")}
                    if own != mine:
                        failures.append(f"thread {index} step {step}: list shows {sorted(own ^ mine)} wrongly")
            except Exception as exc:  # noqa: BLE001 - any error is a failure of the test, reported below
                failures.append(f"thread {index} step {step} {action}: {type(exc).__name__}: {exc}"[:300])
            with counts_lock:
                counts[action] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    assert not failures, "\n".join(failures[:20])
    assert sum(counts.values()) == THREADS * OPERATIONS

    ci, _ = make_sdk_clients()
    final = [group.name for group in ci.container_groups.list_by_resource_group(rg)]
    assert len(final) == len(set(final)), "duplicated groups in the final list"
    assert set(final) == set().union(*expected)
    print(f"\nconcurrency: {dict(counts)} in {elapsed:.1f} s; {len(final)} groups remain")
