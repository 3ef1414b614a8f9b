"""The REST API's own examples replayed against a fresh emulator, request by request, field by field.

Every ``x-ms-examples`` file vendored under ``tests/fixtures/rest-api-specs/`` (Azure/azure-rest-api-specs,
MIT) is sent as its operation's request (the swagger's path, query and body; the subscription is the
emulator's own). The answer must carry one of the example's status codes, and every field the example's answer
shows must be in ours with the same value, unless COVERAGE.md's table "Spec examples: the differences" lists
that example and JSON path. Fields the example does not show are allowed only when the swagger schema has them
(an example is one sample, not the whole model) or COVERAGE.md lists them. A row of that table that no longer
matches any difference fails the test too, so the table stays exact.

Preconditions: the emulator is reset before each example; a GET, list or delete finds the group(s) its answer
shows, created from that answer (read through the schema, so read-only fields are dropped); an operation on a
container finds a group ``demo1`` holding it. The examples' images (``nginx``...) are registered as local
images that print nothing and wait.
"""

from __future__ import annotations

import fnmatch
import json
import re
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from aci_widgets.emulator.runtime.images import register_image
from aci_widgets.emulator.state.validation.schema import container_group_schema, derive

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "tests/fixtures/rest-api-specs/containerinstance/stable/2023-05-01"
SWAGGER = json.loads((SPEC_DIR / "containerInstance.json").read_text(encoding="utf-8"))
COVERAGE = ROOT / "COVERAGE.md"
TABLE_TITLE = "### Spec examples: the differences"
RM_API = "api-version=2024-11-01"
STANDIN = [sys.executable, "-c", "import time\nwhile True: time.sleep(60)"]


def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Example file name -> (method, path template, operation)."""
    found = {}
    for template, methods in SWAGGER["paths"].items():
        for method, operation in methods.items():
            for reference in operation.get("x-ms-examples", {}).values():
                found[Path(reference["$ref"]).name] = (method.upper(), template, operation)
    return found


OPERATIONS = _operations()
EXAMPLES = sorted(path.name for path in (SPEC_DIR / "examples").glob("*.json"))


def allowed_differences() -> list[tuple[str, str, str]]:
    """COVERAGE.md's rows ``| example | path | why |`` under TABLE_TITLE."""
    text = COVERAGE.read_text(encoding="utf-8")
    assert TABLE_TITLE in text, f"COVERAGE.md has no {TABLE_TITLE!r} section"
    rows = []
    for line in text.split(TABLE_TITLE, 1)[1].splitlines()[1:]:
        if line.startswith("#"):
            break
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("example", "---") and not set(cells[0]) <= {"-"}:
            rows.append((cells[0], cells[1], cells[2]))
    return rows


# -- comparing ---------------------------------------------------------------------------------------
def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Paths where ``actual`` lacks or differs from what ``expected`` shows (arrays of named items by name)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [path or "$"]
        found = []
        for key, value in expected.items():
            child = f"{path}.{key}" if path else key
            if key not in actual:
                found.append(child)
            else:
                found += differences(value, actual[key], child)
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [path]
        if all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in expected + actual):
            by_name = {item["name"]: item for item in actual}
            found = []
            for item in expected:
                child = f"{path}[{item['name']}]"
                found += differences(item, by_name[item["name"]], child) if item["name"] in by_name else [child]
            return found
        if len(expected) != len(actual):
            return [path]
        return [found for index, (e, a) in enumerate(zip(expected, actual))
                for found in differences(e, a, f"{path}[{index}]")]
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(actual, (int, float)):
        return [] if float(expected) == float(actual) else [path]
    return [] if expected == actual else [path]


def outside_schema(actual: Any, node: dict[str, Any], path: str = "") -> list[str]:
    """Paths of ``actual`` that the swagger's ContainerGroup model does not have."""
    if isinstance(actual, list) and node.get("t") == "array":
        return [found for index, item in enumerate(actual)
                for found in outside_schema(item, node.get("i", {}), f"{path}[{_name(item, index)}]")]
    if not isinstance(actual, dict) or node.get("t") != "object":
        return []
    if "p" in node:
        found = []
        for key, value in actual.items():
            child = f"{path}.{key}" if path else key
            found += [child] if key not in node["p"] else outside_schema(value, node["p"][key], child)
        return found
    if isinstance(node.get("m"), dict):
        return [found for key, value in actual.items() for found in outside_schema(value, node["m"], f"{path}.{key}")]
    return []


SECRET_KEYS = {"secureValue", "storageAccountKey", "workspaceKey", "workspaceResourceId", "password",
               "protectedSettings"}


def _secret_values(value: Any, secret: bool = False) -> list[str]:
    """Every string under a secret key, or in a secret volume's map, of a request body."""
    if isinstance(value, dict):
        return [found for key, item in value.items()
                for found in _secret_values(item, secret or key in SECRET_KEYS or key == "secret")]
    if isinstance(value, list):
        return [found for item in value for found in _secret_values(item, secret)]
    return [value] if secret and isinstance(value, str) and len(value) > 3 else []


def _response_schema(operation: dict[str, Any], status: str) -> dict[str, Any] | None:
    """The compact schema of the operation's answer for ``status`` (the swagger's definition), if it has one."""
    reference = operation.get("responses", {}).get(status, {}).get("schema", {}).get("$ref")
    if reference is None:
        return None
    name = reference.rsplit("/", 1)[-1]
    return container_group_schema() if name == "ContainerGroup" else derive(SWAGGER, name)


def _name(item: Any, index: int) -> Any:
    return item["name"] if isinstance(item, dict) and "name" in item else index


# -- the replay --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory, emulator_tools: SimpleNamespace) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("spec-examples-home")
    emulator = emulator_tools.start_emulator(home, emulator_tools.free_port())
    auth = emulator.auth
    client = httpx.Client(base_url=emulator.base_url, timeout=60,
                          verify=ssl.create_default_context(cafile=str(emulator.ca_path)))
    token = client.post(f"/{auth['tenantId']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": auth["clientId"], "client_secret": auth["clientSecret"],
        "scope": emulator.base_url + "/.default"}).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    used: set[tuple[str, str]] = set()
    try:
        yield SimpleNamespace(emulator=emulator, client=client, sub=auth["subscriptionId"], home=emulator.home,
                              used=used)
    finally:
        client.close()
        left = emulator_tools.stop_emulator(emulator)
        assert not left, f"container processes left running: {sorted(left)}"


def _images(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["image"]} if isinstance(value.get("image"), str) else set()
        return found.union(*(_images(item) for item in value.values())) if value else found
    if isinstance(value, list):
        return set().union(*(_images(item) for item in value)) if value else set()
    return set()


def _group_path(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups/{name}"


def _prepare(replay: Any, example: dict[str, Any], method: str) -> None:
    client, sub = replay.client, replay.sub
    replay.emulator.control.reset()
    for image in _images(example):
        register_image(replay.home, image, STANDIN)
    params = example["parameters"]
    groups: list[dict[str, Any]] = []
    bodies = [response.get("body") for response in example["responses"].values() if isinstance(response, dict)]
    for body in bodies:
        if isinstance(body, dict) and isinstance(body.get("value"), list):
            groups += [item for item in body["value"] if isinstance(item, dict) and "properties" in item]
        elif isinstance(body, dict) and "properties" in body and method in ("GET", "DELETE", "PATCH"):
            groups.append(body)
    rgs = {params.get("resourceGroupName", "demo")}
    rgs |= {g["id"].split("/")[4] for g in groups if "/resourceGroups/" in g.get("id", "")}
    for rg in rgs:
        assert client.put(f"/subscriptions/{sub}/resourcegroups/{rg}?{RM_API}", json={"location": "westus"}
                          ).status_code in (200, 201)
    if "containerName" in params:  # an operation on a container: a group holding it
        groups.append({"name": params["containerGroupName"], "location": "westus", "properties": {
            "osType": "Linux", "containers": [{"name": params["containerName"], "properties": {
                "image": "nginx", "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]}})
        register_image(replay.home, "nginx", STANDIN)
    elif method in ("POST",) and "containerGroupName" in params:  # start / stop / restart
        groups.append({"name": params["containerGroupName"], "location": "westus", "properties": {
            "osType": "Linux", "containers": [{"name": "demo1", "properties": {
                "image": "nginx", "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]}})
        register_image(replay.home, "nginx", STANDIN)
    for group in groups:
        rg = group["id"].split("/")[4] if "/resourceGroups/" in group.get("id", "") else params["resourceGroupName"]
        created = client.put(_group_path(sub, rg, group["name"]) + "?api-version=2023-05-01", json=group)
        assert created.status_code in (200, 201), created.text
        _settle(client, _group_path(sub, rg, group["name"]))


def _settle(client: httpx.Client, path: str) -> None:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = client.get(path + "?api-version=2023-05-01").json()
        if body.get("properties", {}).get("provisioningState") in ("Succeeded", "Failed"):
            return
        time.sleep(0.1)


def _request(replay: Any, method: str, template: str, operation: dict[str, Any],
             params: dict[str, Any]) -> httpx.Response:
    path = template
    query: dict[str, str] = {}
    body = None
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = SWAGGER["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        name = parameter["name"]
        if parameter["in"] == "body":
            body = params.get(name)
        elif parameter["in"] == "query" and name in params:
            query[name] = str(params[name]).lower() if isinstance(params[name], bool) else str(params[name])
    for name, value in params.items():
        if name == "subscriptionId":
            value = replay.sub
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, path
    return replay.client.request(method, path, params=query, json=body)


def _normalized(expected: Any, sub: str) -> Any:
    """The example's answer with its placeholder subscription id replaced by the emulator's."""
    return json.loads(json.dumps(expected).replace("/subscriptions/subid/", f"/subscriptions/{sub}/"))


@pytest.mark.parametrize("example_name", EXAMPLES)
def test_the_example_is_answered_as_the_spec_shows(replay: Any, example_name: str) -> None:
    example = json.loads((SPEC_DIR / "examples" / example_name).read_text(encoding="utf-8"))
    method, template, operation = OPERATIONS[example_name]
    _prepare(replay, example, method)
    response = _request(replay, method, template, operation, example["parameters"])
    answer = response.json() if response.content else None
    statuses = sorted(example["responses"])
    found: list[str] = []
    if str(response.status_code) not in statuses:
        found.append(f"status {response.status_code}")
    else:
        expected = (example["responses"][str(response.status_code)] or {}).get("body")
        if expected is not None:
            found += differences(_normalized(expected, replay.sub), answer)
        schema = _response_schema(operation, str(response.status_code))
        if schema is not None:
            found += [f"extra {path}" for path in outside_schema(answer, schema)]
    if method == "PUT":  # no value the model marks secret (or a secret volume's file) comes back
        request_body = next(iter(v for k, v in example["parameters"].items() if isinstance(v, dict)), {})
        for secret in _secret_values(request_body):
            assert secret not in json.dumps(answer), f"{example_name}: a secret value came back"
    rows = [(example_pattern, path) for example_pattern, path, _why in allowed_differences()
            if fnmatch.fnmatchcase(example_name, example_pattern)]
    unexplained = []
    for difference in found:
        matched = [row for row in rows if re.fullmatch(fnmatch.translate(row[1]), difference)]
        replay.used.update(matched)
        if not matched:
            unexplained.append(difference)
    assert not unexplained, (f"{example_name}: {method} {template} -> {response.status_code}; differences COVERAGE.md "
                             f"does not list: {unexplained}\nanswer: {json.dumps(answer)[:3000]}")


def test_every_listed_difference_is_still_needed(replay: Any) -> None:
    """Runs after the examples (file order): a row that matched nothing is slack that could hide a change."""
    rows = {(example, path) for example, path, _why in allowed_differences()}
    assert rows, "COVERAGE.md lists no differences for the spec examples"
    assert not rows - replay.used, f"COVERAGE.md lists differences no example shows any more: {rows - replay.used}"
