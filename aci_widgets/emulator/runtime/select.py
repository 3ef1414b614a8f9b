"""Choosing and making the container engine (``--engine auto|docker|process``, env ``ACI_EMULATOR_ENGINE``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from .docker_engine import docker_answers
from .engine import ENGINE_CHOICES, ENGINE_ENV, Engine, EngineUnavailable, ExitCallback
from .process_engine import ProcessEngine

logger = logging.getLogger(__name__)


def choose_engine(requested: str | None = None) -> str:
    """``docker`` or ``process`` for ``--engine`` / ``ACI_EMULATOR_ENGINE`` (``auto``: Docker if it answers)."""
    choice = (requested or os.environ.get(ENGINE_ENV) or "auto").strip().lower()
    if choice not in ENGINE_CHOICES:
        raise ValueError(f"unknown engine '{choice}': use one of {', '.join(ENGINE_CHOICES)}")
    if choice != "auto":
        return choice
    if docker_answers():
        return "docker"
    logger.warning("engine auto: %s; containers run as local processes (--engine process)", _why_not_docker())
    return "process"


def _why_not_docker() -> str:
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker package is not installed (pip install 'aci-widgets[docker]')"
    return f"no Docker API answers at {os.environ.get('DOCKER_HOST') or 'the default socket'}"


def make_engine(name: str, home: Any, on_exit: ExitCallback, *, kill_grace_seconds: float) -> Engine:
    if name == "docker":
        try:
            import docker  # noqa: F401 - only to tell a missing client from a daemon that does not answer
        except ImportError:
            raise EngineUnavailable("the Docker engine needs the docker package: pip install 'aci-widgets[docker]' "
                                    "(or use --engine process)") from None
        try:
            from .docker_engine import DockerEngine

            return DockerEngine(home, on_exit, kill_grace_seconds=kill_grace_seconds)
        except Exception as error:  # ImportError (no docker package), DockerException (no daemon)  # noqa: BLE001
            where = os.environ.get("DOCKER_HOST") or "the default socket"
            raise EngineUnavailable(f"the Docker engine does not answer at {where} ({type(error).__name__}: "
                                    f"{str(error)[:200]}); start it, set DOCKER_HOST, or use --engine process") \
                from None
    return ProcessEngine(home, on_exit, kill_grace_seconds=kill_grace_seconds)
