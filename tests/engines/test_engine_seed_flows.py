"""The seed flows on both engines (issue 14), with the stock SDK over real HTTPS.

A single container with a DNS label and port 80 that answers on its 127.0.0.1 host port; an app + sidecar where
the sidecar reaches the app on localhost:80 (one network namespace per group on Docker; the port variables on
the process engine); the wordcount task run with ``command`` the way the sample runs it; a task with a command
in exec form and one through a shell, env and secure env, restart Never; logs, list, get, delete. The group's
events name the engine.
"""

from __future__ import annotations

import urllib.request

from .conftest import EngineEmulator, container, group_body, wait_for

HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"
SIDECAR = "mcr.microsoft.com/azuredocs/aci-tutorial-sidecar"
WORDCOUNT = "mcr.microsoft.com/azuredocs/aci-wordcount"


def test_single_container_with_fqdn_and_port_answers_and_names_its_engine(engine_emulator: EngineEmulator,
                                                                          rg: str) -> None:
    emu = engine_emulator
    created = emu.create(rg, "hello", group_body(container("hello", HELLO, ports=(80,)), ports=(80,),
                                                 dns_label=f"hello-{emu.engine}-{rg[-6:]}"))
    assert created.provisioning_state == "Succeeded"
    assert created.ip_address.fqdn.startswith(f"hello-{emu.engine}-")
    port = emu.host_port(rg, "hello")
    page = wait_for(lambda: _get(f"http://127.0.0.1:{port}/"))
    assert page and "Welcome to Azure Container Instances!" in page
    assert wait_for(lambda: "listening on port" in emu.logs(rg, "hello", "hello") or
                    "GET /" in emu.logs(rg, "hello", "hello"))
    events = emu.group_json(rg, "hello")["properties"]["instanceView"]["events"]
    assert any(f"{emu.engine} engine" in event["message"] for event in events), events


def test_app_and_sidecar_share_localhost(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    sidecar_env = [{"name": "SIDECAR_INTERVAL", "value": "0.5"}]
    emu.create(rg, "app", group_body(container("app", HELLO, ports=(80,)),
                                     container("sidecar", SIDECAR, env=sidecar_env, cpu=0.5, memory=0.5),
                                     ports=(80,)))
    assert wait_for(lambda: "HTTP/1.1 200 OK" in emu.logs(rg, "app", "sidecar")), emu.logs(rg, "app", "sidecar")
    detail = emu.ci.container_groups.get(rg, "app")
    assert detail.instance_view.state == "Running"
    assert [c.instance_view.current_state.state for c in detail.containers] == ["Running", "Running"]


def test_tasks_both_command_forms_env_secure_env_restart_never(engine_emulator: EngineEmulator, rg: str) -> None:
    emu = engine_emulator
    env = [{"name": "NumWords", "value": "3"}, {"name": "MinLength", "value": "8"}]
    emu.create(rg, "wordcount", group_body(container(
        "wordcount", WORDCOUNT, command=["python", "wordcount.py", "http://shakespeare.mit.edu/romeo_juliet/full.html"],
        env=env), policy="Never"))
    emu.create(rg, "exec-form", group_body(container("task", emu.images.shell, command=["echo", "FOO", "BAR"]),
                                           policy="Never"))
    secret = "s3cr3t-never-returned"
    emu.create(rg, "shell-form", group_body(container(
        "task", emu.images.shell, command=["/bin/sh", "-c", "echo plain=$PLAIN secure=$HIDDEN; exit 3"],
        env=[{"name": "PLAIN", "value": "visible"}, {"name": "HIDDEN", "secureValue": secret}]), policy="Never"))
    assert wait_for(lambda: emu.ci.container_groups.get(rg, "exec-form").instance_view.state == "Succeeded")
    assert emu.logs(rg, "exec-form", "task") == "FOO BAR\n"
    assert wait_for(lambda: emu.ci.container_groups.get(rg, "shell-form").instance_view.state == "Failed")
    assert emu.logs(rg, "shell-form", "task") == f"plain=visible secure={secret}\n"
    failed = emu.container_view(rg, "shell-form")
    assert failed.current_state.exit_code == 3 and failed.restart_count == 0
    assert secret not in str(emu.group_json(rg, "shell-form"))
    assert wait_for(lambda: emu.ci.container_groups.get(rg, "wordcount").instance_view.state == "Succeeded")
    counted = emu.logs(rg, "wordcount", "wordcount")
    assert counted.startswith("[") and len(eval(counted.strip())) == 3, counted

    listed = {g.name: g for g in emu.ci.container_groups.list_by_resource_group(rg)}
    assert set(listed) == {"wordcount", "exec-form", "shell-form"}
    assert all(g.instance_view is None for g in listed.values())
    for name in listed:
        assert emu.ci.container_groups.begin_delete(rg, name).result().name == name
    assert list(emu.ci.container_groups.list_by_resource_group(rg)) == []


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return str(answer.read().decode())
    except OSError:
        return None
