"""The ARM protocol as raw HTTP sees it: auth, paths, envelopes, headers, status codes, knobs.

Raw ``httpx`` over the emulator's HTTPS (trusting its CA), so that every header and byte is visible.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aci_widgets.emulator import auth
from aci_widgets.emulator.arm.app import ApiSettings, FaultRule, create_app
from aci_widgets.emulator.config import EmulatorHome

CI_API = "api-version=2023-05-01"
RM_API = "api-version=2025-04-01"


def https(emulator: Any) -> httpx.Client:
    """A raw HTTPS client that trusts the emulator's CA, and nothing else."""
    return httpx.Client(base_url=emulator.base_url, verify=ssl.create_default_context(cafile=emulator.ca_path),
                        timeout=30)


@pytest.fixture(scope="module")
def arm(emulator) -> Iterator[httpx.Client]:
    """An HTTPS client with a bearer token from the emulator's own token endpoint."""
    data = emulator.auth
    with https(emulator) as client:
        token = client.post(f"/{data['tenantId']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": data["clientId"],
            "client_secret": data["clientSecret"], "scope": emulator.base_url + "/.default"}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield client


@pytest.fixture(scope="module")
def sub(emulator) -> str:
    return emulator.auth["subscriptionId"]


@pytest.fixture
def rg(arm: httpx.Client, sub: str, make_name) -> Iterator[str]:
    name = f"rg-{make_name()}"
    created = arm.put(f"/subscriptions/{sub}/resourcegroups/{name}?{RM_API}", json={"location": "eastus"})
    assert created.status_code == 201
    yield name
    arm.delete(f"/subscriptions/{sub}/resourcegroups/{name}?{RM_API}")


def task_body(command: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"location": "eastus", "properties": {
        "osType": "Linux", "restartPolicy": "Never",
        "containers": [{"name": "c1", "properties": {
            "image": "alpine", "command": command or ["sleep", "30"],
            "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.0}}}}], **extra}}


def assert_arm_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:800]
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-ms-request-id")
    if status < 500:
        assert "retry-after" not in response.headers  # azure-core would retry any 4xx that carries one
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


# -- authentication --------------------------------------------------------------------------------
def test_arm_requests_without_or_with_a_wrong_token_get_401(emulator, sub: str) -> None:
    url = f"/subscriptions/{sub}/resourcegroups?{RM_API}"
    with https(emulator) as client:
        missing = client.get(url)
        assert_arm_error(missing, 401, "AuthenticationFailed")
        assert missing.headers["www-authenticate"].startswith("Bearer authorization_uri=")
        assert_arm_error(client.get(url, headers={"Authorization": "Bearer abc.def.ghi"}),
                         401, "InvalidAuthenticationToken")
        assert_arm_error(client.get(url, headers={"Authorization": "Basic dXNlcjpwdw=="}), 401, "AuthenticationFailed")
        expired = auth.issue_token(emulator.home.config(), audience="a", issuer="i", now=time.time() - 7200)
        assert_arm_error(client.get(url, headers={"Authorization": f"Bearer {expired}"}),
                         401, "ExpiredAuthenticationToken")
        assert client.get("/_emulator/health").json()["status"] == "ok"  # health is open


def test_control_plane_needs_the_control_key(emulator) -> None:
    with https(emulator) as client:
        assert_arm_error(client.get("/_emulator/requests"), 401, "InvalidControlKey")
        assert_arm_error(client.post("/_emulator/reset", headers={"x-aci-emulator-key": "guess"}),
                         401, "InvalidControlKey")


# -- paths, api-version, bodies ----------------------------------------------------------------------
def test_paths_are_case_insensitive(arm: httpx.Client, sub: str, rg: str) -> None:
    put = arm.put(f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/"
                  f"containerGroups/case-test?{CI_API}", json=task_body())
    assert put.status_code == 201
    for path in ((f"/SUBSCRIPTIONS/{sub.upper()}/resourcegroups/{rg.upper()}/providers/microsoft.containerinstance/"
                 "CONTAINERGROUPS/Case-Test"),
                 (f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/"
                 "containerGroups/case-test")):
        got = arm.get(f"{path}?{CI_API}")
        assert got.status_code == 200, got.text
        assert got.json()["name"] == "case-test"  # the stored spelling
    assert arm.head(f"/subscriptions/{sub}/RESOURCEGROUPS/{rg.upper()}?{RM_API}").status_code == 204


def test_segments_are_percent_decoded_and_an_encoded_slash_stays_in_its_segment(
        arm: httpx.Client, sub: str, make_name) -> None:
    name = f"rg({make_name()})"
    encoded = name.replace("(", "%28").replace(")", "%29")
    assert arm.put(f"/subscriptions/{sub}/resourcegroups/{encoded}?{RM_API}",
                   json={"location": "eastus"}).status_code == 201
    try:
        assert arm.get(f"/subscriptions/{sub}/resourcegroups/{encoded}?{RM_API}").json()["name"] == name
        slash = arm.get(f"/subscriptions/{sub}/resourceGroups/{encoded}/providers/Microsoft.ContainerInstance/"
                        f"containerGroups/a%2Fb?{CI_API}")
        assert_arm_error(slash, 404, "ResourceNotFound")  # a group named 'a/b', not an unknown route
    finally:
        arm.delete(f"/subscriptions/{sub}/resourcegroups/{encoded}?{RM_API}")


def test_a_missing_api_version_is_refused_like_arm(arm: httpx.Client, sub: str) -> None:
    error = assert_arm_error(arm.get(f"/subscriptions/{sub}/resourcegroups"), 400, "MissingApiVersionParameter")
    assert "api-version" in error["message"]


def test_published_api_versions_are_accepted_and_others_refused(arm: httpx.Client, sub: str) -> None:
    for version in ("2025-04-01", "2024-11-01", "2021-04-01", "2016-02-01"):  # Microsoft.Resources publishes them
        assert arm.get(f"/subscriptions/{sub}/resourcegroups?api-version={version}").status_code == 200
    for version in ("2023-05-01", "2099-01-01-preview"):  # an ACI version, a future one: ARM's 400
        assert_arm_error(arm.get(f"/subscriptions/{sub}/resourcegroups?api-version={version}"), 400,
                         "InvalidApiVersionParameter")


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"location": NaN}', b"", b'"text"', b"\xff\xfe"])
def test_bad_json_bodies_are_invalid_request_content(arm: httpx.Client, sub: str, rg: str, body: bytes) -> None:
    url = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/x?{CI_API}"
    assert_arm_error(arm.put(url, content=body, headers={"Content-Type": "application/json"}),
                     400, "InvalidRequestContent")


@pytest.mark.parametrize(("path", "code"), [
    ("/subscriptions/{sub}/providers/Microsoft.ContainerInstance/widgets", "InvalidResourceType"),
    ("/subscriptions/{sub}/resourceGroups/x/providers/Microsoft.Compute/virtualMachines/vm",
     "InvalidResourceNamespace"),
    ("/subscriptions/{sub}/resourceGroups/x/providers/Microsoft.ContainerInstance/containerGroups/g/explode",
     "InvalidResourceType"),
    ("/nothing/here", "NotFound"),
    ("/", "NotFound"),
])
def test_unknown_routes_answer_404_in_the_arm_envelope(arm: httpx.Client, sub: str, path: str, code: str) -> None:
    assert_arm_error(arm.get(path.format(sub=sub) + f"?{CI_API}"), 404, code)


def test_wrong_method_and_wrong_subscription(arm: httpx.Client, sub: str) -> None:
    assert_arm_error(arm.post(f"/subscriptions/{sub}/resourcegroups?{RM_API}"), 405, "MethodNotAllowed")
    other = "00000000-0000-0000-0000-000000000000"
    assert_arm_error(arm.get(f"/subscriptions/{other}/resourcegroups?{RM_API}"), 404, "SubscriptionNotFound")


# -- status codes and headers the SDK relies on ------------------------------------------------------
def test_put_get_and_the_async_operation(arm: httpx.Client, sub: str, rg: str, emulator) -> None:
    url = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/lro"
    created = arm.put(f"{url}?{CI_API}", json=task_body())
    assert created.status_code == 201 and created.headers["content-type"].startswith("application/json")
    operation = created.headers["azure-asyncoperation"]
    assert operation.startswith(f"{emulator.base_url}/subscriptions/{sub}/providers/Microsoft.ContainerInstance/"
                                "locations/eastus/operations/")
    assert "retry-after" not in created.headers
    status: dict[str, Any] = {}
    for _ in range(100):
        status = arm.get(operation).json()
        if status["status"] != "InProgress":
            break
        time.sleep(0.05)
    assert status["status"] == "Succeeded" and status["id"].lower().endswith("/containergroups/lro")
    assert arm.put(f"{url}?{CI_API}", json=task_body()).status_code == 200  # an update
    assert arm.get(f"{url}?{CI_API}").json()["properties"]["instanceView"]
    assert arm.patch(f"{url}?{CI_API}", json={"tags": {"a": "b"}}).json()["tags"] == {"a": "b"}
    stop = arm.post(f"{url}/stop?{CI_API}")
    assert stop.status_code == 204 and not stop.content
    start = arm.post(f"{url}/start?{CI_API}")
    assert start.status_code in (202, 204)
    if start.status_code == 202:
        assert "/operations/" in start.headers["azure-asyncoperation"]
    restart = arm.post(f"{url}/restart?{CI_API}")
    assert restart.status_code == 204 and "/operations/" in restart.headers["azure-asyncoperation"]
    deleted = arm.delete(f"{url}?{CI_API}")
    assert deleted.status_code == 200 and deleted.json()["name"] == "lro"
    assert arm.delete(f"{url}?{CI_API}").status_code == 204


def test_exec_and_attach_answer_a_websocket(arm: httpx.Client, sub: str, rg: str) -> None:
    """Exec and attach answer {webSocketUri, password} (issue 16; the bridge itself: tests/exec)."""
    url = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/ex"
    arm.put(f"{url}?{CI_API}", json=task_body())
    for _ in range(100):  # until the container runs
        answer = arm.post(f"{url}/containers/c1/exec?{CI_API}",
                          json={"command": "/bin/sh", "terminalSize": {"rows": 24, "cols": 80}})
        if answer.status_code == 200:
            break
        time.sleep(0.05)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"webSocketUri", "password"}
    assert answer.json()["webSocketUri"].startswith("wss://")
    assert arm.post(f"{url}/containers/c1/attach?{CI_API}").status_code == 200
    assert_arm_error(arm.post(f"{url}/containers/nope/exec?{CI_API}", json={"command": "sh"}), 404,
                     "ContainerNotFound")
    assert_arm_error(arm.post(f"{url}-missing/containers/c1/exec?{CI_API}", json={}), 404, "ResourceNotFound")


def test_logs_query_parameters(arm: httpx.Client, sub: str, rg: str) -> None:
    url = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/logs"
    arm.put(f"{url}?{CI_API}", json=task_body(["/bin/sh", "-c", "echo one; echo two; echo three"]))
    logs = f"{url}/containers/c1/logs?{CI_API}"
    for _ in range(100):
        if arm.get(logs).json().get("content", "").count("\n") == 3:
            break
        time.sleep(0.05)
    assert arm.get(logs).json() == {"content": "one\ntwo\nthree\n"}
    assert arm.get(f"{logs}&tail=1").json() == {"content": "three\n"}
    stamped = arm.get(f"{logs}&timestamps=true&tail=1").json()["content"]
    assert stamped.endswith(" three\n") and stamped[:4].isdigit()
    assert_arm_error(arm.get(f"{logs}&tail=-1"), 400, "InvalidQueryParameterValue")
    assert_arm_error(arm.get(f"{logs}&timestamps=maybe"), 400, "InvalidQueryParameterValue")
    assert_arm_error(arm.get(f"{url}/containers/nope/logs?{CI_API}"), 404, "ContainerNotFound")


def test_every_answer_has_a_request_id_and_echoes_the_client_request_id(arm: httpx.Client, sub: str) -> None:
    for response in (arm.get(f"/subscriptions/{sub}/resourcegroups?{RM_API}"),
                     arm.get(f"/subscriptions/{sub}/resourcegroups/nope?{RM_API}"),
                     arm.get("/_emulator/health"),
                     arm.get(f"/providers/Microsoft.ContainerInstance/operations?{CI_API}")):
        assert response.headers["x-ms-request-id"]
    echoed = arm.get(f"/subscriptions/{sub}/resourcegroups?{RM_API}", headers={"x-ms-client-request-id": "abc-123"})
    assert echoed.headers["x-ms-client-request-id"] == "abc-123"


def test_operation_lists_and_location_endpoints(arm: httpx.Client, sub: str) -> None:
    for path, prefix, version in (
            ("/providers/Microsoft.ContainerInstance/operations", "Microsoft.ContainerInstance/", CI_API),
            ("/providers/Microsoft.Resources/operations", "Microsoft.Resources/", RM_API)):
        value = arm.get(f"{path}?{version}").json()["value"]
        assert value and all(op["name"].startswith(prefix) and op["display"]["operation"] for op in value)
    base = f"/subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/eastus"
    for leaf in ("usages", "capabilities", "cachedImages"):
        answer = arm.get(f"{base}/{leaf}?{CI_API}")
        assert answer.status_code == 200 and isinstance(answer.json()["value"], list), leaf
    assert_arm_error(arm.get(f"{base}/operations/not-an-operation?{CI_API}"), 404,
                     arm.get(f"{base}/operations/not-an-operation?{CI_API}").json()["error"]["code"])


def test_empty_lists_still_send_value(arm: httpx.Client, sub: str, rg: str) -> None:
    body = arm.get(f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/"
                   f"containerGroups?{CI_API}").json()
    assert body == {"value": []}


def test_paging_with_next_link_and_skiptoken(arm: httpx.Client, sub: str, rg: str, emulator, emulator_knobs) -> None:
    """Keyset paging: the nextLink is the emulator's own URL and a group added meanwhile is not repeated."""
    emulator_knobs.set_provisioning_delay(600)  # the groups stay Pending: no process per group
    url = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups"
    page_size = emulator_knobs.settings()["pageSize"]
    names = [f"p-{i:03d}" for i in range(page_size + 3)]
    for name in names:
        assert arm.put(f"{url}/{name}?{CI_API}", json=task_body(["true"])).status_code == 201
    first = arm.get(f"{url}?{CI_API}").json()
    assert len(first["value"]) == page_size
    assert first["nextLink"].startswith(emulator.base_url + url) and "%24skiptoken=" in first["nextLink"]
    arm.put(f"{url}/a-000?{CI_API}", json=task_body(["true"]))  # sorts before the cursor: not on page 2
    second = arm.get(first["nextLink"]).json()
    assert [g["name"] for g in second["value"]] == names[page_size:] and "nextLink" not in second
    assert_arm_error(arm.get(f"{url}?{CI_API}&$skiptoken=%25%25"), 400, "InvalidQueryParameterValue")


# -- knobs -------------------------------------------------------------------------------------------
def test_faults_latency_and_the_request_log(arm: httpx.Client, sub: str, emulator_knobs) -> None:
    url = f"/subscriptions/{sub}/resourcegroups?{RM_API}"
    emulator_knobs.inject_faults(429, 1, retry_after=0.5, method="GET", path_contains="/resourcegroups")
    emulator_knobs.inject_faults(503, 1)
    throttled = arm.get(url)
    # the one 4xx that may carry Retry-After: the test asked for it
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "0.5"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert arm.get(url).status_code == 503
    assert arm.get(url).status_code == 200
    assert [r["status"] for r in emulator_knobs.requests()] == [429, 503, 200]
    assert emulator_knobs.requests()[0]["path"] == f"/subscriptions/{sub}/resourcegroups"
    assert emulator_knobs.requests()[0]["query"] == RM_API

    emulator_knobs.set_latency(150)
    start = time.perf_counter()
    arm.get(url)
    assert time.perf_counter() - start >= 0.15
    emulator_knobs.set_latency(0)
    emulator_knobs.clear_requests()
    assert emulator_knobs.requests() == []
    assert emulator_knobs.set_provisioning_delay(0.2)["provisioningDelay"] == 0.2


def test_fault_rules_parse_like_the_cli_flag() -> None:
    assert FaultRule.parse("503:3") == FaultRule(503, 3)
    assert FaultRule.parse("429:2:1.5") == FaultRule(429, 2, 1.5)
    for bad in ("503", "abc:1", "200:1", "503:-1", "1:2:3:4"):
        with pytest.raises(ValueError):
            FaultRule.parse(bad)


# -- robustness ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/subscriptions/{sub}/resourcegroups/{long}", b'{"location": "eastus"}'),
    ("PUT", "/subscriptions/{sub}/resourcegroups/x%00y", b'{"location": "eastus"}'),
    ("PUT", "/subscriptions/{sub}/resourcegroups/ok", b'{"location": 5, "tags": [1]}'),
    ("PUT", "/subscriptions/{sub}/resourceGroups/ok/providers/Microsoft.ContainerInstance/containerGroups/g",
     b'{"properties": {"containers": "nope"}}'),
    ("PUT", "/subscriptions/{sub}/resourceGroups/ok/providers/Microsoft.ContainerInstance/containerGroups/g",
     json.dumps({"location": "eastus", "properties": {"containers": [{"name": 5}], "osType": []}}).encode()),
    ("PATCH", "/subscriptions/{sub}/resourceGroups/ok/providers/Microsoft.ContainerInstance/containerGroups/g",
     b'{"tags": "x"}'),
    ("GET", ("/subscriptions/{sub}/resourceGroups/ok/providers/Microsoft.ContainerInstance/containerGroups/g/"
     "containers/%ff/logs"), b""),
    ("PUT", "/subscriptions/{sub}/resourcegroups/deep", b"[" * 100_000),
    ("OPTIONS", "/subscriptions/{sub}/resourcegroups", b""),
])
def test_odd_requests_never_get_a_5xx(arm: httpx.Client, sub: str, method: str, path: str, body: bytes) -> None:
    url = path.format(sub=sub, long="r" * 400) + f"?{CI_API}"
    response = arm.request(method, url, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text[:800]
    if response.status_code >= 400:
        assert response.json()["error"]["code"]


class _ExplodingBackend:
    def set_provisioning_delay(self, seconds: float) -> None:
        pass

    def set_limits(self, quotas: Any) -> None:
        pass

    def list_resource_groups(self, sub: str) -> list[dict[str, Any]]:
        raise RuntimeError("a bug")


def test_an_unexpected_backend_error_is_a_500_in_the_arm_envelope(tmp_path) -> None:
    """It should never happen (the fuzz tests look for it); if it does, the client still gets ARM JSON."""
    home = EmulatorHome(tmp_path)
    config = home.config()
    app = create_app(_ExplodingBackend(), home, ApiSettings())  # type: ignore[arg-type]
    token = auth.issue_token(config, audience="a", issuer="i")

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="https://127.0.0.1") as client:
            return await client.get(f"/subscriptions/{config['subscriptionId']}/resourcegroups?{RM_API}",
                                    headers={"Authorization": f"Bearer {token}"})

    response = asyncio.run(call())
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "InternalServerError"
    assert response.headers["x-ms-request-id"] in response.json()["error"]["message"]
