"""Network rules: port lists, the group's IP address (type, ports, DNS name label), and ports shared by the
containers of one group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .... import rules
from ... import errors
from .body import _choice, _dict, _int, _list, _short, _str, invalid_content


def _validate_ports(ports: Any, path: str, *, keep_protocol: bool) -> list[dict[str, Any]]:
    result = []
    for index, port in enumerate(_list(ports, path)):
        port = _dict(port, f"{path}[{index}]")
        number = _int(port.get("port"), f"{path}[{index}].port") if port.get("port") is not None else None
        if number is None:
            raise invalid_content(f"{path}[{index}]", "Required property 'port' not found in JSON.")
        if rules.check_port(number):
            # invented: the 1-65535 range is documented, its code is not.
            raise errors.bad_request("InvalidPort", f"The port '{number}' in '{path}' is invalid. "
                                     "The value must be between 1 and 65535.", target=f"{path}[{index}].port")
        entry: dict[str, Any] = {}
        if port.get("protocol") is not None:
            protocol = _choice(port["protocol"], rules.PROTOCOLS, f"{path}[{index}].protocol")
            if protocol is None:
                raise invalid_content(f"{path}[{index}].protocol",
                                      f"Error converting value {_short(port['protocol'])} to type "
                                      "'ContainerNetworkProtocol'.")
            if keep_protocol or protocol:
                entry["protocol"] = protocol
        entry["port"] = number
        result.append(entry)
    return result


def _validate_ip_address(group: str, ip: Any, props: dict[str, Any], location: str,
                         existing: dict[str, Any] | None,
                         dns_label_taken: Callable[[str, str], bool]) -> dict[str, Any]:
    ip = _dict(ip, "properties.ipAddress")
    result = {key: value for key, value in ip.items() if key not in ("fqdn", "hostPorts")}
    ip_type = _choice(ip.get("type"), rules.IP_ADDRESS_TYPES, "properties.ipAddress.type")
    if ip_type is None:
        raise invalid_content("properties.ipAddress.type",
                              f"Error converting value {_short(ip.get('type'))} to type "
                              "'ContainerGroupIpAddressType'.")
    if ip_type == "Private" and not props.get("subnetIds"):
        raise errors.bad_request(  # ACI's code and message (reference rule K1: terraform-azurerm-caf#1145)
            "PrivateIPAddressNotSupported",
            f"IP Address type in container group '{group}' is invalid. Private IP address is only supported "
            "when network profile is defined.", target="properties.ipAddress.type")
    result["type"] = ip_type
    if ip_type == "Public":
        result.pop("ip", None)  # a public IP is assigned, never chosen
    ports = _validate_ports(ip.get("ports"), "properties.ipAddress.ports", keep_protocol=True)
    if not ports:
        raise errors.bad_request("MissingIpAddressPorts",
                                 f"The ports in the 'ipAddress' of container group '{group}' cannot be empty.",
                                 target="properties.ipAddress.ports")
    exposed = {(port["port"], port.get("protocol", "TCP")) for container in props["containers"]
               for port in container["properties"]["ports"]}
    missing = [port["port"] for port in ports if (port["port"], port.get("protocol", "TCP")) not in exposed]
    if missing:
        raise errors.bad_request(  # invented: the reference found no code for this (it is a real rule)
            "InvalidContainerGroupPorts",
            f"The ports '{','.join(map(str, missing))}' in the 'ipAddress' of container group '{group}' are not "
            "exposed by any of its containers.", target="properties.ipAddress.ports")
    seen: set[tuple[int, str]] = set()
    for port in ports:
        key = (port["port"], port.get("protocol", "TCP"))
        if key in seen:
            raise errors.bad_request(  # invented (named in the reference as not found in any source)
                "DuplicateContainerPorts",
                f"The port '{port['port']}' appears more than once in the 'ipAddress' of container group "
                f"'{group}'.", target="properties.ipAddress.ports")
        seen.add(key)
    result["ports"] = ports
    label = _str(ip.get("dnsNameLabel"), "properties.ipAddress.dnsNameLabel", required=False)
    if label is not None:
        if rules.check_dns_label(label):
            raise errors.bad_request(  # invented code; the message is ACI's (vscode-spot#38)
                "InvalidDnsNameLabel",
                f"The DNS name label '{label}' in container group '{group}' is invalid. It can contain only "
                "lowercase letters, numbers and hyphens. The first character must be a letter. The last "
                "character must be a letter or number. The value must be between 5 and 63 characters long.",
                target="properties.ipAddress.dnsNameLabel")
        if dns_label_taken(location, label):
            raise errors.bad_request(  # invented code; the message is ACI's (docker-k8s-workshop#2)
                "DnsNameLabelNotAvailable",
                f"The DNS name label '{label}' in container group '{group}' not available. Try using a "
                "different label.", target="properties.ipAddress.dnsNameLabel")
        result["dnsNameLabel"] = label
    return result


def _check_container_ports(group: str, containers: list[dict[str, Any]]) -> None:
    # Containers of a group share one network namespace: two of them cannot both listen on a port.
    owner: dict[tuple[int, str], str] = {}
    for container in containers:
        for port in container["properties"]["ports"]:
            key = (port["port"], port.get("protocol", "TCP"))
            if key in owner:
                raise errors.bad_request(  # invented (named in the reference as not found in any source)
                    "DuplicateContainerPorts",
                    f"The port '{port['port']}' is exposed by both container '{owner[key]}' and container "
                    f"'{container['name']}' of container group '{group}'.", target="properties.containers")
            owner[key] = container["name"]
