"""What the ``%aci`` commands share: one-line errors, "did you mean", confirmation, secrets typed as ``$var``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..session import Session
    from ..spec import GroupSpec


class MagicsHost(Protocol):
    """What the command classes read of ``AciMagics`` (its config and session), without importing it."""

    shell: Any
    resource_group: str
    location: str
    backend: str
    poll_interval: float | None

    def session(self) -> Session: ...

    def adopt(self, current: Session) -> None: ...


class NotFoundHint:
    """On ``NotFound``, re-raise with a "did you mean" from the names that do exist (one more list request).

    ``names`` are the groups the command named; without names the resource group itself is the suspect.
    """

    def __init__(self, current: Session, names: list[str], resource_group: str | None) -> None:
        self.current, self.names, self.resource_group = current, names, resource_group

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        from ..errors import AciError, NotFound

        if exc_type is None or not issubclass(exc_type, NotFound):
            return False
        message = str(exc)
        rg = self.resource_group or self.current.resource_group
        try:
            if getattr(exc, "code", None) == "ResourceGroupNotFound" or not self.names:
                hint = closest([rg or ""], self.current.list_resource_groups(), "resource groups")
                if "did you mean" not in hint:
                    hint += f"; %aci create-rg {rg} makes it"
            elif getattr(exc, "code", None) == "ContainerNotFound":
                return False  # a missing container, not a missing group: the message names the group
            else:
                missing = [name for name in self.names if f"'{name}'" in message or f"/{name}'" in message]
                names = [str(g.get("name", "")) for g in self.current.list_group_json(rg)]
                hint = closest(missing or self.names, names, f"groups in '{rg}'")
        except AciError:
            return False  # the hint is a courtesy: the original error stands
        if hint:
            raise NotFound(f"{message}{hint}", code=getattr(exc, "code", None)) from None
        return False



class ImageHint:
    """On ``InaccessibleImage`` from the local emulator, re-raise with what its engine needs to run the image."""

    def __init__(self, current: Session) -> None:
        self.current = current

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        from ..errors import OperationFailed

        if (exc_type is None or not issubclass(exc_type, OperationFailed) or getattr(exc, "code", None)
                != "InaccessibleImage" or getattr(self.current, "backend", None) != "local"):
            return False
        engine = str(getattr(self.current, "engine", None) or "")
        if engine.startswith("docker"):
            hint = ("; the emulator runs Docker: build or pull the image into that engine first "
                    "(docker build -t NAME . / docker pull NAME)")
        else:
            hint = ("; the emulator runs local processes: only its built-in images run (aci-emulator image list), "
                    "add one with aci-emulator image add NAME -- COMMAND, or serve with --engine docker")
        raise OperationFailed(str(exc).split(": ", 1)[-1] + hint, code="InaccessibleImage",
                              status_code=getattr(exc, "status_code", None)) from None


def closest(words: list[str], candidates: list[str], what: str) -> str:
    import difflib

    if not candidates:
        return f" ({what}: none)"
    for word in words:
        close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
        if close:
            return f" (did you mean '{close[0]}'?)"
    shown = ", ".join(sorted(candidates)[:8]) + (", …" if len(candidates) > 8 else "")
    return f" ({what}: {shown})"


def raise_problems(command: str, spec: GroupSpec, *, by_flag: bool = True) -> None:
    """``spec.problems()`` (the one copy of the rules) as a usage error: the first problem, named by the flag
    that set it (or by its field path for a YAML cell), and how many more there are."""
    from .parser import MagicUsage, flag_for

    problems = spec.problems()
    if problems:
        path, message = next(iter(problems.items()))
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise MagicUsage(f"{command}: {flag_for(path, spec) if by_flag else path}: {message}{more}")


def expected(exc: BaseException) -> bool:
    """Failures a user can act on from one line: our errors, and an emulator that would not start."""
    import sys

    from ..errors import AciError

    launcher = sys.modules.get("aci_widgets.emulator.launcher")
    start_error = getattr(launcher, "EmulatorStartError", None)
    return isinstance(exc, AciError) or (start_error is not None and isinstance(exc, start_error))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def confirm(question: str) -> bool:
    """A yes to ``question`` from the user; False when nobody can answer (no stdin: nbclient, papermill,
    nbconvert raise ``StdinNotImplementedError``, a closed stdin ``EOFError``): never delete without a yes."""
    try:
        answer = input(question)
    except EOFError:
        return False
    except Exception as error:  # IPython's StdinNotImplementedError, without importing IPython here
        if type(error).__name__ == "StdinNotImplementedError":
            return False
        raise
    return answer.strip().lower() in ("y", "yes")


def current_session() -> Session | None:
    """The default session if one exists, without connecting; and without importing the session module (which
    imports azure-core) when nothing has connected yet."""
    import sys

    module = sys.modules.get("aci_widgets.session")
    return module.current_session() if module is not None else None


def secure_pairs(shell: Any, pairs: list[str], secrets: list[str],
                 flag: str = "--secure-env") -> list[tuple[str, str]]:
    """``--secure-env`` (or ``--secrets``) pairs with ``$var`` resolved; a list, so that problems() still sees
    duplicates."""
    from ..spec import parse_env_pairs

    return [(name, secure_value(shell, f"{flag} {name}", value, secrets) or "")
            for name, value in parse_env_pairs(pairs, "secure_env")]

def secure_value(shell: Any, flag: str, value: str | None, secrets: list[str]) -> str | None:
    """``$var`` reads a notebook variable, so the secret need not be typed into the notebook (``$$`` is ``$``)."""
    from .parser import MagicUsage

    if value is None:
        return None
    if value.startswith("$$"):
        value = value[1:]
    elif value.startswith("$") and value[1:].isidentifier():
        if value[1:] not in shell.user_ns:
            raise MagicUsage(f"{flag}: no notebook variable '{value[1:]}' (write $$ for a literal $)")
        value = str(shell.user_ns[value[1:]])
    secrets.append(value)
    return value
