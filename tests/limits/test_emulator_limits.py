"""Azure's limits in the emulator: ACI's quotas and create/delete rates, ARM's token buckets, the time scale.

Each answer is checked as the wire has it (status, ARM envelope, Azure's message text, headers) and, where it
matters, through the stock SDK (``location.list_usage``) and our session (which must pace itself and say
when it is throttled instead of failing).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import aci_widgets
from aci_widgets.emulator.state.quotas import LimitSettings

QUOTA_TEXT = ("Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota '{quota}' "
              "exceeded in region 'eastus'. Limit: '{limit}', Usage: '{usage}' Requested: '{requested}'.")
GENEROUS_RATES = {"ContainerGroupCreatesPer5Minutes": 10_000, "ContainerGroupCreatesPerHour": 10_000}


def test_the_101st_group_is_refused_with_acis_message_and_usage_reports_it(raw, limits, emulator_tools,
                                                                            limits_emulator):
    limits.set_limits(values=GENEROUS_RATES)  # only the group quota is tested here
    rg = raw.rg("rg-quota")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: raw.put_group(rg, f"g{i:03d}").status_code, range(100)))
    assert statuses == [201] * 100
    refused = raw.put_group(rg, "g100")
    assert refused.status_code == 400
    assert refused.json() == {"error": {"code": "ContainerGroupQuotaReached", "message": QUOTA_TEXT.format(
        quota="ContainerGroups", limit=100, usage=100, requested=1)}}
    assert "Retry-After" not in refused.headers  # never on a 4xx that is not a rate (azure-core would retry it)
    # The stock SDK's location.list_usage reports the real use against the limits.
    ci, _rm = emulator_tools.sdk_clients(limits_emulator.auth_file, retry_total=0)
    usage = {u.name.value: u for u in ci.location.list_usage("eastus")}
    assert (usage["ContainerGroups"].current_value, usage["ContainerGroups"].limit) == (100, 100)
    assert (usage["StandardCores"].current_value, usage["StandardCores"].limit) == (100, 100)
    assert {"StandardSpotCores", "DedicatedCores", "K80Cores", "P100Cores", "V100Cores"} <= set(usage)
    # An update of an existing group is no new group; deleting one makes room.
    assert raw.put_group(rg, "g000").status_code == 200
    assert raw.delete_group(rg, "g000").status_code == 200
    assert raw.put_group(rg, "g100").status_code == 201
    assert limits.limits()["peakGroups"] == {f"{raw.sub.lower()}/eastus": 100}
    assert limits.limits()["refused"] == {"ContainerGroups": 1}


def test_core_quotas_standard_spot_and_dedicated(raw, limits):
    limits.set_limits(values={"StandardCores": 4, "StandardSpotCores": 1})
    rg = raw.rg("rg-cores")
    assert raw.put_group(rg, "a", cpu=2).status_code == 201
    assert raw.put_group(rg, "b", cpu=2).status_code == 201
    refused = raw.put_group(rg, "c", cpu=1)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "ContainerGroupQuotaReached")
    assert refused.json()["error"]["message"] == QUOTA_TEXT.format(quota="StandardCores", limit=4, usage=4,
                                                                   requested=1)
    # An update of an existing group counts its own cores once (its CPU cannot change: ACI refuses that).
    assert raw.put_group(rg, "b", cpu=2).status_code == 200
    # Spot and dedicated cores have quotas of their own (dedicated: 0 until Azure grants some).
    assert raw.put_group(rg, "s1", cpu=1, priority="Spot").status_code == 201
    spot = raw.put_group(rg, "s2", cpu=1, priority="Spot")
    assert spot.json()["error"]["message"] == QUOTA_TEXT.format(quota="StandardSpotCores", limit=1, usage=1,
                                                                requested=1)
    dedicated = raw.put_group(rg, "d1", cpu=1, sku="Dedicated")
    assert dedicated.json()["error"]["message"] == QUOTA_TEXT.format(quota="DedicatedCores", limit=0, usage=0,
                                                                     requested=1)
    usage = raw.usage()
    assert usage["StandardCores"]["currentValue"] == 4 and usage["StandardSpotCores"]["currentValue"] == 1
    assert usage["ContainerGroups"]["currentValue"] == 3


def test_create_and_delete_rates_answer_429_with_retry_after(raw, limits):
    # 0.01: ACI's 5-minute window is 3 s here.
    limits.set_limits(time_scale=0.01, values={"ContainerGroupCreatesPer5Minutes": 3,
                                               "ContainerGroupDeletesPer5Minutes": 2})
    rg = raw.rg("rg-rate")
    assert [raw.put_group(rg, f"r{i}").status_code for i in range(3)] == [201, 201, 201]
    started = time.monotonic()
    refused = raw.put_group(rg, "r3")
    assert refused.status_code == 429
    assert refused.json()["error"] == {"code": "ContainerGroupQuotaReached", "message": QUOTA_TEXT.format(
        quota="ContainerGroupCreatesPer5Minutes", limit=3, usage=3, requested=1)}
    wait = float(refused.headers["Retry-After"])
    assert 0 < wait <= 3.0
    time.sleep(max(0.0, wait - (time.monotonic() - started)) + 0.05)
    assert raw.put_group(rg, "r3").status_code == 201
    assert [raw.delete_group(rg, f"r{i}").status_code for i in range(2)] == [200, 200]
    refused_delete = raw.delete_group(rg, "r2")
    assert refused_delete.status_code == 429
    assert "'ContainerGroupDeletesPer5Minutes' exceeded in region 'eastus'. Limit: '2', Usage: '2'" in \
        refused_delete.json()["error"]["message"]
    assert 0 < float(refused_delete.headers["Retry-After"]) <= 3.0
    assert limits.limits()["refused"] == {"ContainerGroupCreatesPer5Minutes": 1,
                                          "ContainerGroupDeletesPer5Minutes": 1}


def test_the_hourly_create_rate(raw, limits):
    limits.set_limits(time_scale=0.001, values={"ContainerGroupCreatesPerHour": 2})  # an hour is 3.6 s
    rg = raw.rg("rg-hour")
    assert [raw.put_group(rg, f"h{i}").status_code for i in range(2)] == [201, 201]
    refused = raw.put_group(rg, "h2")
    assert refused.status_code == 429 and "'ContainerGroupCreatesPerHour'" in refused.json()["error"]["message"]
    assert 3.0 < float(refused.headers["Retry-After"]) <= 3.6


def test_arm_read_bucket_headers_and_429(raw, limits):
    limits.set_limits(values={"readsBucket": 20, "readsRefillPerSecond": 2})
    rg = raw.rg("rg-reads")
    path = (f"/subscriptions/{raw.sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/"
            "containerGroups?api-version=2023-05-01")
    left = []
    for _ in range(19):  # the resource group PUT above was a write: its own bucket
        answer = raw.get(path)
        assert answer.status_code == 200
        left.append(int(answer.headers["x-ms-ratelimit-remaining-subscription-reads"]))
    assert left[0] == 19 and left == sorted(left, reverse=True) and left[-1] <= 1
    while True:
        answer = raw.get(path)
        if answer.status_code == 429:
            break
    assert answer.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    assert answer.headers["Retry-After"] == "1"  # whole seconds at Azure's own clock
    error = answer.json()["error"]
    assert error["code"] == "SubscriptionRequestsThrottled"
    assert error["message"].startswith(f"Number of 'read' requests for subscription '{raw.sub}' actor '")
    assert "Please try again after '1' seconds after additional tokens are available." in error["message"]
    time.sleep(1.0)
    assert raw.get(path).status_code == 200
    # Writes and deletes have buckets of their own, each answer naming its own.
    put = raw.put_group(rg, "w1")
    assert 198 <= int(put.headers["x-ms-ratelimit-remaining-subscription-writes"]) <= 199  # refilled at 10/s
    assert "x-ms-ratelimit-remaining-subscription-reads" not in put.headers
    delete = raw.delete_group(rg, "w1")
    assert delete.headers["x-ms-ratelimit-remaining-subscription-deletes"] == "199"
    assert limits.limits()["throttled"] == {"reads": 1}


def test_the_time_scale_speeds_up_refills_and_windows(raw, limits):
    limits.set_limits(time_scale=0.01, values={"readsBucket": 5, "readsRefillPerSecond": 1})  # 100/s here
    path = f"/subscriptions/{raw.sub}/resourcegroups?api-version=2022-09-01"
    answers = [raw.get(path) for _ in range(40)]
    assert {a.headers["x-aci-emulator-time-scale"] for a in answers} == {"0.01"}
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled, "5 tokens refilled at 100/s cannot answer 40 requests sent back to back"
    assert all(0 < float(a.headers["Retry-After"]) <= 0.011 for a in throttled)  # 1 s of Azure's clock
    time.sleep(0.06)  # 6 tokens at 100/s
    assert [raw.get(path).status_code for _ in range(5)] == [200] * 5


def test_limits_settings_from_flags_and_environment(monkeypatch):
    monkeypatch.setenv("ACI_EMULATOR_LIMITS", "off")
    monkeypatch.setenv("ACI_EMULATOR_TIME_SCALE", "0.01")
    monkeypatch.setenv("ACI_EMULATOR_LIMIT_VALUES", "ContainerGroups=10,readsbucket=50")
    settings = LimitSettings.from_env()
    assert (settings.enabled, settings.time_scale) == (False, 0.01)
    assert settings.values["ContainerGroups"] == 10 and settings.values["readsBucket"] == 50
    assert settings.window(300) == pytest.approx(3.0)  # "0.01 makes 5 minutes 3 s"
    flags = LimitSettings.from_env("azure", 1.0, ["StandardCores=8"])
    assert flags.enabled and flags.time_scale == 1.0 and flags.values["StandardCores"] == 8
    assert flags.values["ContainerGroups"] == 10 or flags.values["ContainerGroups"] == 100
    for bad in (lambda: LimitSettings.from_env("strict"), lambda: LimitSettings.from_env(None, 0.0),
                lambda: LimitSettings.from_env(None, None, ["Nope=1"]),
                lambda: LimitSettings.from_env(None, None, ["ContainerGroups=-1"])):
        with pytest.raises(ValueError):
            bad()


def test_control_plane_refuses_bad_limits(limits):
    from aci_widgets.emulator.control import ControlError

    for kwargs in ({"mode": "strict"}, {"time_scale": 0}, {"values": {"Nope": 1}},
                   {"values": {"StandardCores": -2}}):
        with pytest.raises(ControlError) as caught:
            limits.set_limits(**kwargs)
        assert caught.value.status == 400
    assert limits.limits()["mode"] == "azure"


def test_the_session_waits_out_throttling_with_a_notice(limits, limits_emulator, emulator_tools):
    limits.set_limits(values={"readsBucket": 10, "readsRefillPerSecond": 5})
    _ci, rm = emulator_tools.sdk_clients(limits_emulator.auth_file, retry_total=0)
    rm.resource_groups.create_or_update("rg-notice", {"location": "eastus"})
    notes: list[str] = []
    session = aci_widgets.connect(auth_file=limits_emulator.auth_file, resource_group="rg-notice", quiet=True)
    session.notify = notes.append
    for _ in range(12):  # another client of the same principal empties the bucket
        try:
            list(rm.resource_groups.list())
        except Exception:  # noqa: BLE001, S112 - the 429 is what we want here
            continue
    assert session.list_group_json("rg-notice") == []  # not an error: throttled, waited, answered
    assert any(note.startswith("aci-widgets: throttled by Azure Resource Manager; resuming in ") for note in notes)


def test_the_session_paces_itself_within_the_read_budget(limits, limits_emulator, emulator_tools):
    limits.set_limits(values={"readsBucket": 30, "readsRefillPerSecond": 20})
    _ci, rm = emulator_tools.sdk_clients(limits_emulator.auth_file, retry_total=0)
    rm.resource_groups.create_or_update("rg-pace", {"location": "eastus"})
    session = aci_widgets.connect(auth_file=limits_emulator.auth_file, resource_group="rg-pace", quiet=True)
    session.notify = lambda _message: None
    limits.set_limits(clear=True)
    started = time.monotonic()
    for _ in range(60):
        session.list_group_json("rg-pace")
    elapsed = time.monotonic() - started
    assert limits.limits()["throttled"] == {}, "the session must stay within the budget it was told about"
    assert elapsed >= (60 - 30 + 3) / 20 * 0.8, "it can only have done so by waiting for the refill"
