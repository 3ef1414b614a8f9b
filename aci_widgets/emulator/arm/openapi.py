"""An OpenAPI 3 description of the ARM operations the emulator implements (``GET /_emulator/openapi.json``).

For fuzzers (schemathesis, tests/reliability/test_fuzz.py) and for curious users. It describes what the
emulator accepts, not all of ACI: the ContainerGroup body is a subset of ACI's 2023-05-01 schema (the
fields the product uses: containers with image, resources, ports, command and environment variables; OS
type, restart policy, IP address, registry credentials, tags). Every error answer is the ARM envelope
``{"error": {"code", "message"}}``. Built as plain dicts on each request: it is small, and the server URL
is the one the client used.
"""

from __future__ import annotations

from typing import Any

CI_API_VERSION = "2023-05-01"
RM_API_VERSION = "2021-04-01"
_CG_PATH = ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
            "Microsoft.ContainerInstance/containerGroups/{containerGroupName}")
_JSON = "application/json"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _operation(operation_id: str, summary: str, parameters: list[str], responses: dict[str, Any], *,
               body: str | None = None, tag: str = "ContainerGroups") -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id, "summary": summary, "tags": [tag],
        "parameters": [_ref("parameters", name) for name in parameters],
        "responses": {**responses, "default": _json(_ref("schemas", "CloudError"), "An ARM error")},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {_JSON: {"schema": _ref("schemas", body)}}}
    return operation


def _paths() -> dict[str, Any]:
    sub, rg, cg = "SubscriptionId", "ResourceGroupName", "ContainerGroupName"
    group = _ref("schemas", "ContainerGroup")
    group_list = _ref("schemas", "ContainerGroupListResult")
    no_content = {"description": "No content"}
    any_object = {"type": "object"}
    return {
        "/metadata/endpoints": {"get": {**_operation(
            "Metadata_Endpoints", "The cloud's endpoints, all pointing at the emulator (no token needed)",
            ["MetadataApiVersion"], {"200": _json(any_object)}, tag="Tenant"), "security": []}},
        "/subscriptions": {"get": _operation(
            "Subscriptions_List", "The emulator's one subscription", ["SubscriptionsApiVersion"],
            {"200": _json(any_object)}, tag="Tenant")},
        "/subscriptions/{subscriptionId}": {"get": _operation(
            "Subscriptions_Get", "The emulator's subscription", [sub, "SubscriptionsApiVersion"],
            {"200": _json(any_object)}, tag="Tenant")},
        "/subscriptions/{subscriptionId}/locations": {"get": _operation(
            "Subscriptions_ListLocations", "The regions ACI offers", [sub, "SubscriptionsApiVersion"],
            {"200": _json(any_object)}, tag="Tenant")},
        "/tenants": {"get": _operation(
            "Tenants_List", "The emulator's tenant", ["SubscriptionsApiVersion"], {"200": _json(any_object)},
            tag="Tenant")},
        "/providers/Microsoft.ContainerInstance/operations": {"get": _operation(
            "Operations_List", "List the operations of Microsoft.ContainerInstance", ["ApiVersion"],
            {"200": _json(_ref("schemas", "OperationListResult"))}, tag="Operations")},
        "/providers/Microsoft.Resources/operations": {"get": _operation(
            "ResourceOperations_List", "List the operations of Microsoft.Resources", ["ResourcesApiVersion"],
            {"200": _json(_ref("schemas", "OperationListResult"))}, tag="Operations")},
        "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerInstance/containerGroups": {"get": _operation(
            "ContainerGroups_List", "List the container groups of the subscription (no instance views)",
            [sub, "ApiVersion"], {"200": _json(group_list)})},
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
        "Microsoft.ContainerInstance/containerGroups": {"get": _operation(
            "ContainerGroups_ListByResourceGroup", "List the container groups of a resource group",
            [sub, rg, "ApiVersion"], {"200": _json(group_list)})},
        _CG_PATH: {
            "put": _operation("ContainerGroups_CreateOrUpdate", "Create or update a container group",
                              [sub, rg, cg, "ApiVersion"],
                              {"200": _json(group), "201": _json(group, "Created")}, body="ContainerGroup"),
            "get": _operation("ContainerGroups_Get", "Get a container group with its instance view",
                              [sub, rg, cg, "ApiVersion"], {"200": _json(group)}),
            "patch": _operation("ContainerGroups_Update", "Update the tags of a container group",
                                [sub, rg, cg, "ApiVersion"], {"200": _json(group)}, body="Resource"),
            "delete": _operation("ContainerGroups_Delete", "Delete a container group",
                                 [sub, rg, cg, "ApiVersion"], {"200": _json(group), "204": no_content}),
        },
        _CG_PATH + "/start": {"post": _operation(
            "ContainerGroups_Start", "Start a stopped container group", [sub, rg, cg, "ApiVersion"],
            {"202": {"description": "Accepted"}, "204": no_content})},
        _CG_PATH + "/stop": {"post": _operation(
            "ContainerGroups_Stop", "Stop a container group", [sub, rg, cg, "ApiVersion"], {"204": no_content})},
        _CG_PATH + "/restart": {"post": _operation(
            "ContainerGroups_Restart", "Restart every container of a group", [sub, rg, cg, "ApiVersion"],
            {"204": no_content})},
        _CG_PATH + "/containers/{containerName}/logs": {"get": _operation(
            "Containers_ListLogs", "A container's log", [sub, rg, cg, "ContainerName", "ApiVersion", "Tail",
                                                          "Timestamps"],
            {"200": _json(_ref("schemas", "Logs"))}, tag="Containers")},
        "/subscriptions/{subscriptionId}/resourcegroups": {"get": _operation(
            "ResourceGroups_List", "List resource groups", [sub, "ResourcesApiVersion"],
            {"200": _json(_ref("schemas", "ResourceGroupListResult"))}, tag="ResourceGroups")},
        "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}": {
            "put": _operation("ResourceGroups_CreateOrUpdate", "Create or update a resource group",
                              [sub, rg, "ResourcesApiVersion"],
                              {"200": _json(_ref("schemas", "ResourceGroup")),
                               "201": _json(_ref("schemas", "ResourceGroup"), "Created")},
                              body="ResourceGroup", tag="ResourceGroups"),
            "get": _operation("ResourceGroups_Get", "Get a resource group", [sub, rg, "ResourcesApiVersion"],
                              {"200": _json(_ref("schemas", "ResourceGroup"))}, tag="ResourceGroups"),
            "head": _operation("ResourceGroups_CheckExistence", "Whether a resource group exists",
                               [sub, rg, "ResourcesApiVersion"],
                               {"204": no_content, "404": {"description": "Not found"}}, tag="ResourceGroups"),
            "delete": _operation("ResourceGroups_Delete", "Delete a resource group and its container groups",
                                 [sub, rg, "ResourcesApiVersion"], {"200": {"description": "Deleted"}},
                                 tag="ResourceGroups"),
        },
    }


def _parameters(subscription_id: str | None) -> dict[str, Any]:
    subscription: dict[str, Any] = {"type": "string"}
    if subscription_id:
        subscription["example"] = subscription_id  # the only subscription that exists here
    return {
        "SubscriptionId": {"name": "subscriptionId", "in": "path", "required": True, "schema": subscription},
        "ResourceGroupName": {"name": "resourceGroupName", "in": "path", "required": True,
                              "schema": {"type": "string", "minLength": 1, "maxLength": 90,
                                         "pattern": r"^[-\w\._\(\)]+$"}},
        "ContainerGroupName": {"name": "containerGroupName", "in": "path", "required": True,
                               "schema": {"type": "string", "minLength": 1, "maxLength": 63,
                                          "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}},
        "ContainerName": {"name": "containerName", "in": "path", "required": True,
                          "schema": {"type": "string", "minLength": 1, "maxLength": 63}},
        "ApiVersion": {"name": "api-version", "in": "query", "required": True,
                       "schema": {"type": "string", "example": CI_API_VERSION}},
        "ResourcesApiVersion": {"name": "api-version", "in": "query", "required": True,
                                "schema": {"type": "string", "example": RM_API_VERSION}},
        "SubscriptionsApiVersion": {"name": "api-version", "in": "query", "required": True,
                                    "schema": {"type": "string", "example": "2022-12-01"}},
        "MetadataApiVersion": {"name": "api-version", "in": "query", "required": True,
                               "schema": {"type": "string", "example": "2022-09-01"}},
        "Tail": {"name": "tail", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
        "Timestamps": {"name": "timestamps", "in": "query", "required": False, "schema": {"type": "boolean"}},
    }


def _schemas() -> dict[str, Any]:
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    port = {"type": "object", "required": ["port"], "properties": {
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "protocol": {"type": "string", "enum": ["TCP", "UDP"]}}}
    return {
        "CloudError": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}, "target": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}}}}}},
        "Resource": {"type": "object", "properties": {"tags": string_map}},
        "ContainerGroup": {"type": "object", "required": ["properties"], "properties": {
            "location": {"type": "string"}, "tags": string_map,
            "id": {"type": "string", "readOnly": True}, "name": {"type": "string", "readOnly": True},
            "type": {"type": "string", "readOnly": True},
            "properties": _ref("schemas", "ContainerGroupProperties")}},
        "ContainerGroupProperties": {"type": "object", "required": ["containers", "osType"], "properties": {
            "provisioningState": {"type": "string", "readOnly": True},
            "containers": {"type": "array", "items": _ref("schemas", "Container")},
            "osType": {"type": "string", "enum": ["Linux", "Windows"]},
            "restartPolicy": {"type": "string", "enum": ["Always", "OnFailure", "Never"]},
            "sku": {"type": "string", "enum": ["Standard", "Dedicated", "Confidential"]},
            "ipAddress": {"type": "object", "required": ["ports", "type"], "properties": {
                "ports": {"type": "array", "items": port},
                "type": {"type": "string", "enum": ["Public", "Private"]},
                "ip": {"type": "string"}, "dnsNameLabel": {"type": "string"},
                "fqdn": {"type": "string", "readOnly": True}}},
            "imageRegistryCredentials": {"type": "array", "items": {
                "type": "object", "required": ["server"], "properties": {
                    "server": {"type": "string"}, "username": {"type": "string"},
                    "password": {"type": "string", "writeOnly": True}}}},
            "instanceView": {"type": "object", "readOnly": True}}},
        "Container": {"type": "object", "required": ["name", "properties"], "properties": {
            "name": {"type": "string"},
            "properties": {"type": "object", "required": ["image", "resources"], "properties": {
                "image": {"type": "string"},
                "command": {"type": "array", "items": {"type": "string"}},
                "ports": {"type": "array", "items": port},
                "environmentVariables": {"type": "array", "items": {
                    "type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string"}, "value": {"type": "string"},
                        "secureValue": {"type": "string", "writeOnly": True}}}},
                "resources": {"type": "object", "required": ["requests"], "properties": {
                    "requests": _ref("schemas", "ResourceAmounts"),
                    "limits": _ref("schemas", "ResourceAmounts")}},
                "instanceView": {"type": "object", "readOnly": True}}}}},
        "ResourceAmounts": {"type": "object", "required": ["cpu", "memoryInGB"], "properties": {
            "cpu": {"type": "number"}, "memoryInGB": {"type": "number"}}},
        "ContainerGroupListResult": {"type": "object", "properties": {
            "value": {"type": "array", "items": _ref("schemas", "ContainerGroup")},
            "nextLink": {"type": "string"}}},
        "Logs": {"type": "object", "properties": {"content": {"type": "string"}}},
        "OperationListResult": {"type": "object", "properties": {
            "value": {"type": "array", "items": {"type": "object"}}, "nextLink": {"type": "string"}}},
        "ResourceGroup": {"type": "object", "required": ["location"], "properties": {
            "location": {"type": "string"}, "tags": string_map, "managedBy": {"type": "string"},
            "id": {"type": "string", "readOnly": True}, "name": {"type": "string", "readOnly": True},
            "properties": {"type": "object", "readOnly": True}}},
        "ResourceGroupListResult": {"type": "object", "properties": {
            "value": {"type": "array", "items": _ref("schemas", "ResourceGroup")},
            "nextLink": {"type": "string"}}},
    }


def openapi_document(server_url: str, subscription_id: str | None = None) -> dict[str, Any]:
    """The document for a server reached at ``server_url`` (``https://127.0.0.1:47211``)."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "aci-widgets local ACI emulator", "version": CI_API_VERSION,
                 "description": "The subset of Azure Resource Manager (Microsoft.ContainerInstance "
                                "container groups, Microsoft.Resources resource groups) the local emulator "
                                "implements. Every request needs a bearer token from the emulator's token "
                                "endpoint; errors are the ARM envelope."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "parameters": _parameters(subscription_id),
            "schemas": _schemas(),
        },
    }
