"""Image catalogue: names, built-ins, shells with a python shim, user images, and the built-in programs."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from aci_widgets.emulator.config import EmulatorHome
from aci_widgets.emulator.runtime.images import (
    ImageNotFound,
    is_resolvable,
    list_images,
    normalize_image_name,
    populate_workdir,
    register_image,
    resolve,
    sidecar,
    unregister_image,
    wordcount,
)
from aci_widgets.emulator.runtime.images.catalogue import shim_dir

HELLO = "mcr.microsoft.com/azuredocs/aci-helloworld"


@pytest.mark.parametrize(("given", "expected"), [
    ("alpine:latest", "alpine"), ("Alpine", "alpine"), ("docker.io/library/alpine", "alpine"),
    ("library/busybox:latest", "busybox"), ("python:3.11-slim", "python:3.11-slim"),
    ("alpine@sha256:" + "0" * 64, "alpine"), (f"{HELLO}:latest", HELLO),
])
def test_image_names_compare_without_latest_and_registry_prefixes(given: str, expected: str) -> None:
    assert normalize_image_name(given) == expected


@pytest.mark.parametrize(("image", "program"), [
    (HELLO, "helloworld.py"), (f"{HELLO}:v1", "helloworld.py"), ("microsoft/aci-helloworld", "helloworld.py"),
    ("mcr.microsoft.com/azuredocs/aci-tutorial-sidecar", "sidecar.py"),
    ("microsoft/aci-tutorial-sidecar", "sidecar.py"),
    ("mcr.microsoft.com/azuredocs/aci-wordcount:latest", "wordcount.py"),
    ("docker.io/microsoft/aci-wordcount", "wordcount.py"),
])
def test_builtins_run_their_program_from_their_working_directory(image: str, program: str,
                                                                 tmp_path: Path) -> None:
    resolved = resolve(image, None)
    assert resolved.argv == ["python", program]  # relative: the image's working directory holds it
    assert resolved.env["PYTHONUNBUFFERED"] == "1"
    populate_workdir(resolved, tmp_path / "work")
    assert (tmp_path / "work" / program).is_file()
    if program == "wordcount.py":
        assert (tmp_path / "work" / "hamlet.txt").is_file()


def test_shell_images_run_the_command_or_their_default() -> None:
    assert resolve("alpine", ["echo", "FOO", "BAR"]).argv == ["echo", "FOO", "BAR"]
    assert resolve("ubuntu:22.04", None).argv == ["/bin/bash"]
    assert resolve("busybox", None).argv == ["/bin/sh"]
    assert resolve("python:3.12-slim", None).argv == ["python3"]
    assert resolve(HELLO, ["/bin/sh", "-c", "echo hi"]).argv == ["/bin/sh", "-c", "echo hi"]


@pytest.mark.parametrize("image", ["nginx", "contoso.azurecr.io/app:v1", "",
                                   "mcr.microsoft.com/azuredocs/aci-hellowrld"])
def test_unknown_images_are_not_found(image: str) -> None:
    with pytest.raises(ImageNotFound):
        resolve(image, ["true"])
    assert not is_resolvable(image)


def test_user_images_are_registered_listed_and_removed(tmp_path: Path) -> None:
    home = EmulatorHome(tmp_path)
    assert not is_resolvable("myorg/trainer", home)
    register_image(home, "myorg/trainer:latest", ["python3", "-c", "print('training')"], {"EPOCHS": "3"})
    resolved = resolve("MyOrg/Trainer", None, home)
    assert resolved.argv == ["python3", "-c", "print('training')"] and resolved.env == {"EPOCHS": "3"}
    assert resolve("myorg/trainer", ["echo", "override"], home).argv == ["echo", "override"]
    users = [entry for entry in list_images(home) if entry["kind"] == "user"]
    assert users == [{"name": "myorg/trainer:latest", "kind": "user", "argv": ["python3", "-c", "print('training')"],
                      "env": {"EPOCHS": "3"}}]
    assert {entry["kind"] for entry in list_images(home)} == {"builtin", "shell", "user"}
    assert oct(home.images_path.stat().st_mode & 0o777) == "0o600"
    assert unregister_image(home, "myorg/trainer")
    assert not unregister_image(home, "myorg/trainer")
    assert not is_resolvable("myorg/trainer", home)
    with pytest.raises(ValueError):
        register_image(home, "x", [])


def test_a_registered_image_may_shadow_a_builtin(tmp_path: Path) -> None:
    home = EmulatorHome(tmp_path)
    register_image(home, "alpine", ["echo", "mine"])
    assert resolve("alpine:latest", None, home).argv == ["echo", "mine"]


def test_the_shim_makes_python_this_interpreter(tmp_path: Path) -> None:
    shims = shim_dir(EmulatorHome(tmp_path))
    env = {"PATH": f"{shims}:/usr/bin:/bin"}
    out = subprocess.run(["python", "-c", "import sys; print(sys.executable)"], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == sys.executable
    assert shim_dir(EmulatorHome(tmp_path)) == shims  # idempotent


def test_wordcount_counts_words_like_the_real_image() -> None:
    assert wordcount.top_words("a b b c c c", 2, 0) == [("c", 3), ("b", 2)]
    assert wordcount.top_words("tiny enormous enormous", 5, 5) == [("enormous", 2)]
    env = {**os.environ, "NumWords": "4", "MinLength": "6"}
    out = subprocess.run([sys.executable, "-m", "aci_widgets.emulator.runtime.images.wordcount"], env=env,
                         capture_output=True, text=True, check=True).stdout
    words = ast.literal_eval(out)
    assert len(words) == 4 and all(len(word) >= 6 and count > 0 for word, count in words)
    default = ast.literal_eval(subprocess.run([sys.executable, "-m", "aci_widgets.emulator.runtime.images.wordcount"],
                                              capture_output=True, text=True, check=True).stdout)
    assert len(default) == 10 and default[0][0] == "the"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_helloworld_serves_the_welcome_page_and_the_sidecar_sees_it() -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "aci_widgets.emulator.runtime.images.helloworld"],
                              env={**os.environ, "PORT": str(port)}, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == f"listening on port {port}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert "Welcome to Azure Container Instances!" in response.read().decode()
        assert '"GET / HTTP/1.1" 200' in server.stdout.readline()
        os.environ["ACI_PORT_80"] = str(port)
        try:
            lines = sidecar.poll_once(sidecar.target_url())
        finally:
            del os.environ["ACI_PORT_80"]
        assert lines[0] == "HTTP/1.1 200 OK" and "X-Powered-By: Express" in lines
    finally:
        server.terminate()
        server.wait(timeout=5)
    assert sidecar.poll_once(f"http://127.0.0.1:{port}")[0].startswith("curl: (7)")


def test_the_bundled_text_ships_inside_the_package() -> None:
    assert wordcount.TEXT_PATH.parent == Path(wordcount.__file__).parent
    assert "To be, or not to be" in wordcount.TEXT_PATH.read_text(encoding="utf-8")


def test_wordcount_counts_the_page_at_its_url_and_the_bundled_text_without_one(tmp_path: Path) -> None:
    import http.server
    import threading

    page = tmp_path / "page.html"
    page.write_text("<html><body>" + "zebra " * 7 + "<b>lion</b> " * 3 + "</body></html>")
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/page.html"
    base = {key: value for key, value in os.environ.items() if key != "ACI_EMULATOR_OFFLINE"}
    run = [sys.executable, str(Path(wordcount.__file__))]
    try:
        fetched = subprocess.run([*run, url], env=base, capture_output=True, text=True, check=True).stdout
        assert ast.literal_eval(fetched) == [("zebra", 7), ("lion", 3)]  # the page's words, tags removed
        offline = subprocess.run([*run, url], env={**base, "ACI_EMULATOR_OFFLINE": "1"}, capture_output=True,
                                 text=True, check=True).stdout
        unreachable = subprocess.run([*run, "http://127.0.0.1:9/none"], env=base, capture_output=True, text=True,
                                     check=True).stdout
        assert ast.literal_eval(offline) == ast.literal_eval(unreachable)
        assert ast.literal_eval(offline)[0][0] == "the"  # the bundled Hamlet
    finally:
        server.shutdown()
