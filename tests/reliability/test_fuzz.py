"""Fuzzing: the emulator never answers 5xx, and every error is ARM's envelope (issue 8, item 1).

Two layers, both against a dedicated server (own home and port, started through the launcher):

1. ``test_schemathesis_cases_from_the_served_document``: the OpenAPI document the server publishes at
   ``/_emulator/openapi.json`` is loaded with schemathesis, and a bounded number of its generated cases
   (positive and negative) are sent for every operation. This proves the document is valid and usable.
2. ``test_five_thousand_fuzzed_requests``: schemathesis generates about 30 ms per case on this machine, too
   slow for 5,000 requests in the budget, so hypothesis drives raw HTTP from strategies that follow the same
   document (its paths and methods are read from the server): valid and mutated ContainerGroup bodies,
   wrong types, huge strings, odd path segments, unknown api-versions, bad JSON, bad tokens, odd methods.

Containers: the catalogue resolves only a handful of names, so almost every generated image is refused
(400 InaccessibleImage). A body whose image *is* runnable is rewritten to run ``true`` once (restart policy
Never), and the server is reset every ``RESET_EVERY`` requests, so the fuzzer cannot pile up processes. The
``own_emulator`` fixture kills everything at the end and fails if a container process is left.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from aci_widgets.emulator.arm import aad
from aci_widgets.emulator.runtime.images import catalogue

TOTAL_REQUESTS = 5000
RESET_EVERY = 500
BUDGET_SECONDS = 90.0
SEED = 8_2024
RG = "fuzz-rg"
KNOWN_GROUP = "known"
GROUP_NAMES = [KNOWN_GROUP, "fuzz-a", "fuzz-b", "fuzz-c"]
CI_API = "2023-05-01"
RM_API = "2021-04-01"
PLACEHOLDER = {"subscriptionId", "resourceGroupName", "containerGroupName", "containerName"}
ODD_SEGMENTS = ["", ".", "..", "%", "%2F", "a/b", "a%2Fb", " ", "\x00", "\t", "null", "{name}", "?", "#",
                "oauth2", "v2.0", ".well-known", "_emulator", "providers", "subscriptions", "resourceGroups",
                "containerGroups", "Microsoft.ContainerInstance", "\u00e9\u00e8", "\U0001f600", "'; DROP TABLE x;--",
                "CON", "-" * 64, "A" * 91, "x" * 2000]
API_VERSIONS = [CI_API, RM_API, "", "1999-01-01", "2023-05-01-preview", "latest", "2023-13-45", "\u00e9",
                "2023-05-01&api-version=2020-01-01", "x" * 3000]
METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "CONNECTX"]
BAD_JSON = [b"", b" ", b"{", b"}", b"[", b"null", b"true", b"1", b'"x"', b"[]", b"{'a': 1}", b'{"a": NaN}',
            b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1,}', b"\xff\xfe\x00", b'{"a": "\xff"}',
            b"[" * 100_000, b'{"a":' * 50_000, b'{"location": "eastus", "properties": ' + b"[" * 5000,
            b"\x00" * 64, b'{"location": "eastus"}' * 3]
RUNNABLE_IMAGES = ["alpine", "busybox:latest", "python:3.11"]
# Images that look real but are not in the catalogue: the fuzzer's usual, refused with InaccessibleImage.
UNKNOWN_IMAGES = ["nginx", "mcr.microsoft.com/azuredocs/aci-helloworld-nope", "docker.io/library/redis:7",
                  "myregistry.azurecr.io/app:v1", "UPPER/Case", "a" * 300, ""]


# -- strategies ------------------------------------------------------------------------------------
def weighted(common: st.SearchStrategy[Any], *rare: st.SearchStrategy[Any], weight: int = 3) -> st.SearchStrategy[Any]:
    """``common`` about ``weight`` times as often as each of ``rare`` (``one_of`` would merge repeated
    branches, so the choice is an explicit index)."""
    choices = [common, *rare]
    return st.integers(0, weight + len(rare) - 1).flatmap(lambda i: choices[max(0, i - weight + 1)])


huge_text = st.integers(min_value=1_000, max_value=30_000).map(lambda n: "\u00e9x" * (n // 2))
# Mostly ordinary text; sometimes NUL, lone surrogates and other non-ASCII characters (issue 12: each of them
# once answered 500 or left a ghost group). ``st.text()`` alone never draws a surrogate.
odd_text = st.text(alphabet=st.one_of(st.sampled_from(["\x00", "\ud800", "\udfff", "\u00e9", "\u20ac", "\U0001f600",
                                                         "\ufffe", "\x7f", "\n"]), st.characters()),
                   min_size=1, max_size=12)
any_text = st.one_of(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40), odd_text)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)), max_leaves=12)
number_like = weighted(st.sampled_from([0.5, 1, 1.5, 2, 4]), st.floats(allow_nan=False), st.integers(),
                       st.sampled_from([0, -1, 1e308, 16.5, 4.0001]), any_text, st.none(), st.booleans())
port = st.fixed_dictionaries(
    {"port": weighted(st.sampled_from([80, 443, 8080]), st.integers(-5, 70_000), any_text, st.none())},
    optional={"protocol": st.sampled_from(["TCP", "UDP", "tcp", "SCTP", "", None])})
env_var = st.fixed_dictionaries(
    {"name": weighted(st.sampled_from(["A", "B_1", "TOKEN", "PATH"]), any_text, st.sampled_from(["", "1A", "a=b"]))},
    optional={"value": weighted(any_text, json_value, huge_text), "secureValue": weighted(any_text, json_value)})
resources = st.fixed_dictionaries(
    {"requests": st.fixed_dictionaries({"cpu": number_like, "memoryInGB": number_like})},
    optional={"limits": st.fixed_dictionaries({"cpu": number_like, "memoryInGB": number_like})})
image = st.one_of(st.sampled_from(UNKNOWN_IMAGES), any_text, huge_text, st.sampled_from(RUNNABLE_IMAGES),
                  json_value)
container = st.fixed_dictionaries(
    {"name": weighted(st.sampled_from(["c1", "web", "sidecar"]), any_text, huge_text, json_value),
     "properties": st.fixed_dictionaries(
         {"image": image, "resources": resources},
         optional={"command": st.one_of(st.lists(any_text, max_size=4), json_value),
                   "ports": st.lists(port, max_size=3),
                   "environmentVariables": st.lists(env_var, max_size=4)})})
ip_address = st.fixed_dictionaries(
    {"type": st.sampled_from(["Public", "Private", "public", "Nope"]), "ports": st.lists(port, max_size=3)},
    optional={"dnsNameLabel": weighted(st.sampled_from(["fuzzlabel", "a", "-bad-"]), any_text, huge_text)})
group_body = st.fixed_dictionaries(
    {"properties": st.fixed_dictionaries(
        {"containers": st.lists(container, max_size=3),
         "osType": weighted(st.just("Linux"), st.sampled_from(["Windows", "linux", "Mac", ""]), json_value)},
        optional={"restartPolicy": st.sampled_from(["Always", "OnFailure", "Never", "Sometimes", ""]),
                  "ipAddress": ip_address,
                  "sku": st.sampled_from(["Standard", "Dedicated", "Confidential", "Cheap"]),
                  "imageRegistryCredentials": st.lists(st.fixed_dictionaries(
                      {"server": any_text}, optional={"username": any_text, "password": any_text}), max_size=2),
                  "volumes": json_value, "initContainers": st.lists(container, max_size=1),
                  "subnetIds": json_value, "diagnostics": json_value})},
    optional={"location": st.one_of(st.sampled_from(["eastus", "westeurope", "", "nowhere"]), any_text, json_value),
              "tags": st.one_of(st.dictionaries(any_text, any_text, max_size=3), json_value),
              "identity": json_value, "zones": json_value})
resource_group_body = st.fixed_dictionaries(
    {"location": weighted(st.sampled_from(["eastus", "westeurope"]), any_text, json_value, huge_text)},
    optional={"tags": st.one_of(st.dictionaries(any_text, any_text, max_size=3), json_value),
              "managedBy": json_value, "properties": json_value})


def _slots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in a JSON document, for mutations."""
    found: list[tuple[Any, Any]] = []
    todo = [document]
    while todo:
        node = todo.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            found.append((node, key))
            todo.append(value)
    return found


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """``base`` with up to three slots dropped or replaced by a wrong type, null or a huge string."""
    document = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        slots = _slots(document)
        if not slots:
            break
        parent, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["drop", "replace", "null", "huge"]))
        if action == "drop":
            del parent[key]
        else:
            parent[key] = {"replace": draw(json_value), "null": None, "huge": draw(huge_text)}[action]
    return document


def _runnable(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        catalogue.resolve(value, None)
    except Exception:  # noqa: BLE001 - anything the catalogue refuses is refused by the server too
        return False
    return True


def make_harmless(body: Any) -> Any:
    """A group whose image the catalogue can run must not leave a process running: ``true``, once."""
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        return body
    runnable = False
    for key in ("containers", "initContainers"):
        for item in props.get(key) or [] if isinstance(props.get(key), list) else []:
            inner = item.get("properties") if isinstance(item, dict) else None
            if isinstance(inner, dict) and _runnable(inner.get("image")):
                inner["command"] = ["true"]
                runnable = True
    if runnable:
        props["restartPolicy"] = "Never"
    return body


@dataclass(frozen=True)
class FuzzRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str | bytes]
    body: bytes | None

    def describe(self) -> str:
        body = None if self.body is None else self.body[:200]
        return f"{self.method} {self.path[:300]} {str(self.query)[:200]} headers={list(self.headers)} body={body!r}"


@dataclass
class Target:
    """What the strategies need from the server: its operations (from its OpenAPI document) and ids."""

    sub: str
    token: str
    operations: list[tuple[str, str]]  # (path template, method)
    extra_paths: list[str] = field(default_factory=list)


BATCH = 10  # requests per hypothesis example: bodies are costly to generate, so each serves a batch


@dataclass
class Pools:
    """What hypothesis generated for one batch; the requests of the batch pick from it."""

    rnd: random.Random
    bodies: dict[str, str]  # "group", "resource_group", "value": JSON texts
    noise: list[str]  # odd path segments, query values, ...


def build_request(target: Target, pools: Pools) -> FuzzRequest:
    """One request: plain ``random`` choices (seeded by hypothesis) over the batch's generated pools.

    Weights: most requests are well-formed apart from one thing, so that each reaches deep into the server.
    """
    rnd = pools.rnd
    valid = {"subscriptionId": target.sub, "resourceGroupName": RG, "containerName": "c1",
             "containerGroupName": rnd.choice(GROUP_NAMES)}

    def noise() -> str:
        return rnd.choice(pools.noise) if rnd.random() < 0.6 else rnd.choice(ODD_SEGMENTS)

    template, method = rnd.choice(target.operations)
    segments = template.strip("/").split("/")
    values = [valid.get(seg[1:-1], "x") if seg.startswith("{") else seg for seg in segments]
    if rnd.random() < 0.25:  # one odd segment (a literal or a parameter)
        at = rnd.randrange(len(values))
        values[at] = noise() if rnd.random() < 0.8 else values[at].upper()
    # Mostly percent-encoded; sometimes raw, so that '/', '..' and '%' reach the server's own parsing.
    safe = "/%" if rnd.random() < 0.1 else ""
    # surrogatepass: a lone surrogate reaches the server as the (invalid UTF-8) bytes it would be, not an error here
    path = "/" + "/".join(quote(value, safe=safe, errors="surrogatepass") for value in values)
    if rnd.random() < 0.05:
        path += "/" + quote(noise(), safe="", errors="surrogatepass")  # one segment too many
    if rnd.random() < 0.05:  # a query value with any bytes at all, percent-encoded by us
        path += "?odd=" + quote(noise(), safe="", errors="surrogatepass")
    if rnd.random() < 0.04:
        path = rnd.choice(target.extra_paths)
    if rnd.random() < 0.1:
        method = rnd.choice(METHODS)

    query: list[tuple[str, str]] = []
    version = RM_API if "/resourcegroups" in template else CI_API
    roll = rnd.random()
    if roll < 0.1:
        version = rnd.choice(API_VERSIONS + [noise()])
    if roll < 0.95:  # else no api-version at all
        query.append(("api-version" if rnd.random() < 0.92 else rnd.choice(["API-Version", "apiversion"]), version))
    extras = {"tail": [str(rnd.randint(-3, 2**40)), noise()], "timestamps": ["true", "false", "TRUE", "maybe", ""],
              "$skiptoken": [noise(), "Zm9v", "!!", "====="], "$top": [str(rnd.randint(-1, 10**6))], "": [noise()]}
    for name, options in extras.items():
        if rnd.random() < 0.08:
            query.append((name, rnd.choice(options)))

    headers: dict[str, str | bytes] = {"Content-Type": "application/json" if rnd.random() < 0.9 else
               rnd.choice(["text/plain", "application/xml", "", "*/*"])}
    token = f"Bearer {target.token}"
    if rnd.random() < 0.08:
        token = rnd.choice(["", "Bearer", "Bearer  ", "Basic abc", "bearer " + target.token[:-2] + "xx",
                            "Bearer " + target.token + "x", "Bearer a.b.c", "Bearer \u00e9", "Bearer " + "A" * 5000,
                            "Bearer " + noise()])
    if token:
        headers["Authorization"] = token
    if rnd.random() < 0.06:  # raw non-ASCII bytes in a header the server reads, and in one it only echoes
        raw = rnd.choice([b"\xe9", b"\xff\xfe", "\u20ac".encode(), b"a.b.\xe9", b"\xed\xa0\x80"])
        headers[rnd.choice(["Authorization", "x-ms-client-request-id", "x-ms-correlation-request-id",
                            "Host", "Content-Type"])] = (b"Bearer " + raw) if rnd.random() < 0.5 else raw

    body: bytes | None = None
    if method in ("PUT", "PATCH", "POST") or rnd.random() < 0.1:
        roll = rnd.random()
        if roll < 0.12:
            body = rnd.choice(BAD_JSON)
        else:
            typed = "group" if template.endswith("{containerGroupName}") else "resource_group"
            document = json.loads(pools.bodies[typed if roll < 0.9 else "value"])  # a fresh copy to mutate
            for _ in range(rnd.choice([0, 0, 1, 2])):
                slots = _slots(document)
                if slots:
                    parent, key = rnd.choice(slots)
                    parent[key] = rnd.choice([None, noise(), 1.5, -1, True, [], {}, [noise()], {"x": noise()}])
            body = json.dumps(make_harmless(document), allow_nan=True).encode("utf-8")
    return FuzzRequest(method, path, query, headers, body)


def request_batches(target: Target) -> st.SearchStrategy[list[FuzzRequest]]:
    """Batches of ``BATCH`` requests built from one example's generated bodies, noise and random seed."""
    noise = weighted(any_text, huge_text, weight=6)

    @st.composite
    def batch(draw: st.DrawFn) -> list[FuzzRequest]:
        # A plain Random seeded by hypothesis: st.randoms() would route every call through hypothesis,
        # which is slow and skews the weights above (it favours 0.0).
        pools = Pools(random.Random(draw(st.integers(0, 2**32))),
                      {"group": json.dumps(draw(mutated(group_body)), allow_nan=True),
                       "resource_group": json.dumps(draw(resource_group_body), allow_nan=True),
                       "value": json.dumps(draw(json_value), allow_nan=True)},
                      draw(st.lists(noise, min_size=1, max_size=4)))
        return [build_request(target, pools) for _ in range(BATCH)]

    return batch()


# -- the server ------------------------------------------------------------------------------------
https_client: Callable[..., httpx.Client]
assert_arm_envelope: Callable[[httpx.Response], dict[str, Any]]


@pytest.fixture(autouse=True)
def _helpers(rtools: Any) -> None:
    """The conftest helpers as module names (a conftest cannot be imported under --import-mode=importlib)."""
    global https_client, assert_arm_envelope
    https_client, assert_arm_envelope = rtools.https_client, rtools.assert_arm_envelope


def _operations_from_document(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(path template, method) for every operation of the document; those with a body count three times."""
    operations = []
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete", "head"):
                operations += [(template, method.upper())] * (3 if "requestBody" in operation else 1)
    return operations


def _valid_group(command: list[str] | None = None) -> dict[str, Any]:
    return {"location": "eastus", "properties": {"osType": "Linux", "restartPolicy": "Never", "containers": [
        {"name": "c1", "properties": {"image": "alpine", "command": command or ["true"],
                                      "resources": {"requests": {"cpu": 1, "memoryInGB": 1}}}}]}}


def _prepare(client: httpx.Client, sub: str) -> None:
    """A resource group and a known group, so that the fuzzer also reaches existing resources."""
    client.put(f"/subscriptions/{sub}/resourcegroups/{RG}", params={"api-version": RM_API},
               json={"location": "eastus"}).raise_for_status()
    group_path = f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroups"
    client.put(f"{group_path}/{KNOWN_GROUP}", params={"api-version": CI_API},
               json=_valid_group()).raise_for_status()


@pytest.fixture
def fuzz_server(own_emulator: Callable[..., Any]) -> Any:
    running = own_emulator()
    with https_client(running) as client:
        _prepare(client, running.auth["subscriptionId"])
    return running


def send(client: httpx.Client, request: FuzzRequest) -> httpx.Response | None:
    """Send ``request``; None when the *client* refuses to (an illegal header value or URL never leaves it)."""
    try:
        return client.request(request.method, request.path, params=request.query, headers=request.headers,
                              content=request.body)
    except (httpx.LocalProtocolError, httpx.InvalidURL, UnicodeEncodeError):
        return None


def check_answer(request: FuzzRequest, response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code} for {request.describe()}: {response.text[:500]}"
    segments = [unquote(part) for part in request.path.strip("/").split("/")]
    if aad.is_aad_path(segments) and response.status_code >= 400 and request.method != "HEAD":
        # /{tenant}/oauth2/... is the sign-in service: Azure AD's error shape, which msal parses, not ARM's.
        # (HEAD answers carry no body at all.)
        # (A request too big for the HTTP parser never reaches it and gets ARM's envelope instead.)
        answer = response.json()
        if isinstance(answer.get("error"), str):
            assert isinstance(answer.get("error_description"), str), answer
            return
    if response.status_code >= 400 and request.method != "HEAD":
        try:
            assert_arm_envelope(response)
        except AssertionError as exc:
            raise AssertionError(f"not an ARM error envelope for {request.describe()}: {exc}") from None


# -- the tests -------------------------------------------------------------------------------------
def test_schemathesis_cases_from_the_served_document(fuzz_server: Any) -> None:
    """The published document loads in schemathesis; its generated cases never get a 5xx or a non-ARM error."""
    import schemathesis
    from schemathesis import GenerationMode

    running = fuzz_server
    with https_client(running, token=False) as open_client:
        document = open_client.get("/_emulator/openapi.json").json()  # no token needed for the document
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    sent = 0
    with https_client(running) as client:
        token = client.headers["Authorization"]

        @seed(SEED)
        @settings(max_examples=12, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.data())
        def run(data: st.DataObject) -> None:
            nonlocal sent
            for operation in operations:
                mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
                case = data.draw(operation.as_strategy(generation_mode=mode))
                headers = {**(case.headers or {}), "Authorization": token}
                if data.draw(st.integers(0, 3)) == 0:
                    headers["Authorization"] = (case.headers or {}).get("Authorization", "")
                body: bytes | None = None
                if isinstance(case.body, bytes):
                    body = case.body
                elif type(case.body).__name__ != "NotSet":
                    body = json.dumps(case.body).encode()
                query = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in (case.query or {}).items()]
                request = FuzzRequest(case.method.upper(), case.formatted_path, query,
                                      {k: str(v) for k, v in headers.items()}, body)
                response = send(client, request)
                if response is not None:
                    sent += 1
                    check_answer(request, response)

        run()
    assert sent >= 10 * len(operations)
    assert client_is_healthy(running)


def client_is_healthy(running: Any) -> bool:
    """Health answers, and a valid create and get still work."""
    sub = running.auth["subscriptionId"]
    with https_client(running) as client:
        if client.get("/_emulator/health").json().get("status") != "ok":
            return False
        running.control.reset()  # the fuzzer may have moved the resource group to another location
        _prepare(client, sub)
        path = (f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/"
                f"containerGroups/after-fuzz")
        created = client.put(path, params={"api-version": CI_API}, json=_valid_group(["echo", "still here"]))
        got = client.get(path, params={"api-version": CI_API})
        return created.status_code in (200, 201) and got.status_code == 200 and got.json()["name"] == "after-fuzz"


def test_five_thousand_fuzzed_requests(fuzz_server: Any) -> None:
    running = fuzz_server
    sub = running.auth["subscriptionId"]
    client = https_client(running, timeout=60)
    document = client.get("/_emulator/openapi.json").json()
    group = f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroups/known"
    target = Target(sub, client.headers["Authorization"].split(" ", 1)[1], _operations_from_document(document),
                    extra_paths=[f"{group}/containers/c1/exec", f"{group}/containers/c1/attach",
                                 f"{group}/outboundNetworkDependenciesEndpoints",
                                 f"/subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/eastus/usages",
                                 f"/subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/eastus/"
                                 "operations/" + "0" * 32,
                                 f"/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines",
                                 "/", "/_emulator/nope", "/_emulator/reset", f"/{sub}/oauth2/v2.0/token",
                                 "/tenant/.well-known/openid-configuration"])
    statuses: dict[int, int] = {}
    sent, next_reset = 0, RESET_EVERY
    started = time.monotonic()

    # No shrinking: it would resend thousands of requests; a failure names the request that failed instead.
    @seed(SEED)
    @settings(max_examples=TOTAL_REQUESTS // BATCH + TOTAL_REQUESTS // BATCH // 10, deadline=None,
              database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(request_batches(target))
    def run(batch: list[FuzzRequest]) -> None:
        nonlocal sent, next_reset
        for request in batch:
            if sent >= next_reset:
                next_reset += RESET_EVERY
                running.control.reset()  # no process or group piles up; then the fixtures again
                _prepare(client, sub)
            response = send(client, request)
            if response is None:
                continue
            sent += 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            check_answer(request, response)

    try:
        run()
        # One body over ARM's 4 MB limit (too slow to let the generator pick sizes like this).
        big = client.put(group, params={"api-version": CI_API}, content=b'{"a": "' + b"x" * (4 * 1024 * 1024) + b'"}')
        assert big.status_code == 413
        assert_arm_envelope(big)
    finally:
        client.close()
    elapsed = time.monotonic() - started
    print(f"\nfuzz: {sent} requests in {elapsed:.1f} s ({sent / elapsed:.0f}/s); "
          f"statuses {dict(sorted(statuses.items()))}")
    assert sent >= TOTAL_REQUESTS
    assert elapsed < BUDGET_SECONDS, f"{sent} requests took {elapsed:.1f} s"
    assert sum(count for status, count in statuses.items() if 200 <= status < 300) > 100, statuses
    assert client_is_healthy(running)
    assert not (running.home.path / "emulator.log").read_text().count("Traceback"), "the server logged a traceback"
