"""The magic line parser on its own (no shell, no emulator): quoting, flags, hints, flag names for problems."""

from __future__ import annotations

import pytest

from aci_widgets.magics import parser as magic_args
from aci_widgets.spec import GroupSpec, command_from_line


@pytest.fixture(scope="module")
def parsers():
    return magic_args.build_parser()


def test_command_line_keeps_nested_quotes(parsers):
    args = magic_args.parse("""create job --image python --command-line "python -c 'print(1)'" """, parsers)
    assert args.command_line == "python -c 'print(1)'"
    assert command_from_line(args.command_line) == ["python", "-c", "print(1)"]


def test_env_values_keep_equals_and_spaces(parsers):
    args = magic_args.parse('create job --image alpine --env "A=x=y z" B= -e C=3 --secure-env "S=p w=d"', parsers)
    assert args.env == ["A=x=y z", "B=", "C=3"]
    assert args.secure_env == ["S=p w=d"]
    assert magic_args.check_flags(args) == []
    spec = GroupSpec.single("job", "alpine", env=args.env)
    assert [(v.name, v.value) for v in spec.containers[0].env] == [("A", "x=y z"), ("B", ""), ("C", "3")]


def test_several_ports_and_az_aliases(parsers):
    args = magic_args.parse("create web --image nginx --ports 80 443 --environment-variables K=V "
                            "--secure-environment-variables S=1 -l westeurope -g my-rg", parsers)
    assert args.ports == ["80", "443"]
    assert (args.env, args.secure_env, args.location, args.resource_group) == (["K=V"], ["S=1"], "westeurope", "my-rg")


def test_delete_takes_several_names(parsers):
    args = magic_args.parse("delete a b c --yes", parsers)
    assert (args.names, args.yes) == (["a", "b", "c"], True)


@pytest.mark.parametrize(("line", "fragment"), [
    ("", "a command is needed"),
    ("lsit", "did you mean 'list'"),
    ("remove x", "unknown command 'remove'"),
    ("create x --imag alpine", "did you mean --image"),
    ("logs x --tial 3", "did you mean --tail"),
    ("create x --image 'alpine", "no closing quotation"),
    ("show", "the following arguments are required: NAME"),
    ("use cloud", "invalid choice: 'cloud'"),
])
def test_usage_errors(parsers, line, fragment):
    with pytest.raises(magic_args.MagicUsage) as caught:
        magic_args.parse(line, parsers)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("path", "flag"), [
    ("name", "NAME"),
    ("containers[0].name", "NAME"),
    ("containers[0].cpu", "--cpu"),
    ("cpu", "--cpu"),
    ("containers[0].memory_gb", "--memory"),
    ("containers[0].ports[1]", "--ports"),
    ("ports", "--ports"),
    ("containers[0].command", "--command-line"),
    ("dns_name_label", "--dns-name-label"),
    ("registry_credentials[0].password", "--registry-password"),
    ("containers[0].env[0].name", "--env"),
    ("containers[0].env[1].name", "--secure-env"),
])
def test_flag_for(path, flag):
    spec = GroupSpec.single("x", "alpine", env={"A": "1"}, secure_env={"B": "2"})
    assert magic_args.flag_for(path, spec) == flag


def test_secret_tokens():
    line = ("create web --image alpine --env A=public --secure-env TOKEN=s1 OTHER=s=2 typo-s3 "
            "--registry-password pw4 --cpu 1 --secure-env=X=s5 --registry-password=pw6")
    assert magic_args.secret_tokens(line) == ["s1", "s=2", "typo-s3", "pw4", "s5", "pw6"]
    assert magic_args.secret_tokens("create 'unclosed") == []
