"""ARM's tenant and subscription reads, path normalisation and api-version checks (issue 13), over raw HTTPS
and through the stock ``SubscriptionClient``."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aci_widgets.emulator.arm import api_versions

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CI_API = "api-version=2023-05-01"
RM_API = "api-version=2024-11-01"
SUBS_API = "api-version=2022-12-01"


@pytest.fixture(scope="module")
def anonymous(emulator: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, timeout=30,
                      verify=ssl.create_default_context(cafile=str(emulator.ca_path))) as client:
        yield client


@pytest.fixture(scope="module")
def arm(emulator: Any, anonymous: httpx.Client) -> Iterator[httpx.Client]:
    data = emulator.auth
    token = anonymous.post(f"/{data['tenantId']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": data["clientId"], "client_secret": data["clientSecret"],
        "scope": emulator.base_url + "/.default"}).json()["access_token"]
    with httpx.Client(base_url=emulator.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"},
                      verify=ssl.create_default_context(cafile=str(emulator.ca_path))) as client:
        yield client


def error_of(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    return str(response.json()["error"]["message"])


@pytest.mark.parametrize("path", ["/metadata/endpoints", "//metadata/endpoints", "/METADATA/Endpoints"])
def test_metadata_endpoints_are_served_anonymously_and_point_at_the_emulator(anonymous: httpx.Client, emulator: Any,
                                                                             path: str) -> None:
    answer = anonymous.get(f"{emulator.base_url}{path}?api-version=2022-09-01")  # absolute: "//" kept as sent
    assert answer.status_code == 200, answer.text
    cloud = answer.json()
    base = emulator.base_url
    assert cloud["authentication"]["loginEndpoint"] == base and cloud["authentication"]["audiences"][0] == base + "/"
    assert cloud["resourceManager"] == base + "/" and isinstance(cloud["suffixes"], dict) and cloud["name"]
    public = json.loads((FIXTURES / "arm-shapes/metadata-endpoints-2022-09-01.json").read_text())
    assert set(cloud) >= set(public) - {"portal"} and set(cloud["suffixes"]) == set(public["suffixes"])
    for key, value in cloud.items():  # every endpoint is the emulator's own
        if isinstance(value, str) and value.startswith("http"):
            assert value.startswith(base), key


def test_metadata_endpoints_check_their_api_version(anonymous: httpx.Client) -> None:
    error_of(anonymous.get("/metadata/endpoints"), 400, "MissingApiVersionParameter")
    message = error_of(anonymous.get("/metadata/endpoints?api-version=1999-01-01"), 400, "InvalidApiVersionParameter")
    assert "'1999-01-01'" in message and "2022-09-01" in message


def test_subscriptions_and_tenants_as_az_login_reads_them(arm: httpx.Client, emulator: Any) -> None:
    auth = emulator.auth
    listed = arm.get(f"/subscriptions?{SUBS_API}").json()["value"]
    assert [(s["id"], s["subscriptionId"], s["tenantId"], s["state"]) for s in listed] == [
        (f"/subscriptions/{auth['subscriptionId']}", auth["subscriptionId"], auth["tenantId"], "Enabled")]
    one = arm.get(f"/subscriptions/{auth['subscriptionId']}?{SUBS_API}").json()
    assert one == listed[0] and one["displayName"] and one["managedByTenants"] == []
    error_of(arm.get(f"/subscriptions/00000000-0000-0000-0000-000000000000?{SUBS_API}"), 404, "SubscriptionNotFound")
    tenants = arm.get(f"/tenants?{SUBS_API}").json()["value"]
    assert [(t["tenantId"], t["id"], t["tenantCategory"]) for t in tenants] == [
        (auth["tenantId"], f"/tenants/{auth['tenantId']}", "Home")]
    assert arm.get("/subscriptions").status_code == 400  # the reads need an api-version too


def test_the_reads_need_a_token(anonymous: httpx.Client) -> None:
    assert anonymous.get(f"/subscriptions?{SUBS_API}").status_code == 401
    assert anonymous.get(f"/tenants?{SUBS_API}").status_code == 401


def test_locations_are_the_regions_aci_offers(arm: httpx.Client, emulator: Any) -> None:
    sub = emulator.auth["subscriptionId"]
    locations = arm.get(f"/subscriptions/{sub}/locations?{SUBS_API}").json()["value"]
    assert [location["name"] for location in locations] == list(api_versions.ACI_LOCATIONS)
    east = next(location for location in locations if location["name"] == "eastus")
    shape = json.loads((FIXTURES / "arm-shapes/locations-list.json").read_text())["responses"]["200"]["body"]
    assert set(east) <= set(shape["value"][0]) and east["id"] == f"/subscriptions/{sub}/locations/eastus"
    assert (east["displayName"], east["regionalDisplayName"], east["type"]) == ("East US", "(US) East US", "Region")
    assert east["metadata"]["pairedRegion"][0]["name"] == "westus"


def test_empty_segments_and_case_are_normalised_as_arm_does(arm: httpx.Client, emulator: Any) -> None:
    sub = emulator.auth["subscriptionId"]
    rg = "arm-reads-rg"
    assert arm.put(f"/subscriptions/{sub}/resourcegroups/{rg}?{RM_API}", json={"location": "eastus"}).status_code in (
        200, 201)
    try:
        double_slash = (f"/subscriptions/{sub}/resourcegroups/{rg}/providers"
                        "/Microsoft.ContainerInstance//containerGroups")
        odd_case = f"//subscriptions/{sub}//resourceGroups/{rg}/PROVIDERS/microsoft.containerinstance/CONTAINERGROUPS"
        for path in (f"{double_slash}/nothere", f"{odd_case}/nothere/"):
            url = f"{emulator.base_url}{path}?api-version=2024-05-01-preview"  # absolute: "//" kept as sent
            error_of(arm.get(url), 404, "ResourceNotFound")
    finally:
        arm.delete(f"/subscriptions/{sub}/resourcegroups/{rg}?{RM_API}")


@pytest.mark.parametrize("version", ["2023-05-01", "2024-05-01-preview", "2019-12-01", "2018-06-01", "2021-10-01",
                                     "2023-05-15-preview", "2026-06-01-preview"])
def test_published_aci_versions_are_served(arm: httpx.Client, emulator: Any, version: str) -> None:
    sub = emulator.auth["subscriptionId"]
    assert arm.get(f"/subscriptions/{sub}/providers/Microsoft.ContainerInstance/containerGroups"
                   f"?api-version={version}").status_code == 200


@pytest.mark.parametrize("version", ["1999-01-01", "2023-05-01-preview", "latest", "2024-11-01"])
def test_other_aci_versions_are_refused_with_arms_code(arm: httpx.Client, emulator: Any, version: str) -> None:
    sub = emulator.auth["subscriptionId"]
    message = error_of(arm.get(f"/subscriptions/{sub}/resourceGroups/nope/providers/Microsoft.ContainerInstance/"
                               f"containerGroups/x?api-version={version}"), 400, "NoRegisteredProviderFound")
    assert f"API version '{version}'" in message and "for type 'containerGroups'" in message
    assert "2023-05-01" in message and "2024-05-01-preview" in message


def test_resource_group_versions_are_checked_against_microsoft_resources(arm: httpx.Client, emulator: Any) -> None:
    sub = emulator.auth["subscriptionId"]
    message = error_of(arm.get(f"/subscriptions/{sub}/resourcegroups?api-version=1999-01-01"), 400,
                       "InvalidApiVersionParameter")
    assert message.startswith("The api-version '1999-01-01' is invalid. The supported versions are "
                              "'2025-08-01-preview,")
    error_of(arm.get(f"/subscriptions?api-version={'2024-11-01'}"), 400, "InvalidApiVersionParameter")


def test_the_shipped_version_lists_hold_every_version_the_specs_publish() -> None:
    fixture = json.loads((FIXTURES / "rest-api-specs/api-versions.json").read_text())
    shipped = api_versions.published()
    for kind in ("Microsoft.ContainerInstance", "Microsoft.Resources", "subscriptions", "metadata"):
        assert set(fixture[kind]) <= set(shipped[kind]), kind
    extra = set(shipped["Microsoft.ContainerInstance"]) - set(fixture["Microsoft.ContainerInstance"])
    assert extra == set(fixture["_also_registered_by_ARM_not_in_specs"]["Microsoft.ContainerInstance/containerGroups"])
    for kind, version in json.loads(json.dumps({"subscriptions": "2022-12-01", "Microsoft.Resources": "2024-11-01",
                                                "Microsoft.ContainerInstance": "2024-05-01-preview"})).items():
        assert version in shipped[kind]  # what azure-cli 2.91 sends


def test_the_subnet_service_association_link_delete_is_answered(arm: httpx.Client, emulator: Any) -> None:
    sub = emulator.auth["subscriptionId"]
    link = ("/providers/Microsoft.Network/virtualNetworks/vnet/subnets/subnet/providers/"
            f"Microsoft.ContainerInstance/serviceAssociationLinks/default?{CI_API}")
    error_of(arm.delete(f"/subscriptions/{sub}/resourceGroups/no-such-rg{link}"), 404, "ResourceGroupNotFound")
    rg = "arm-reads-link"
    arm.put(f"/subscriptions/{sub}/resourcegroups/{rg}?{RM_API}", json={"location": "eastus"})
    try:
        assert arm.delete(f"/subscriptions/{sub}/resourceGroups/{rg}{link}").status_code == 204
    finally:
        arm.delete(f"/subscriptions/{sub}/resourcegroups/{rg}?{RM_API}")
