"""A catalogue of bad ``%aci`` lines and cells: each shows ONE clear line, no traceback, and sends no ARM request.

Every case runs against the real emulator with a connected session, so "no request" is checked where it
matters: the emulator's request log must stay empty.
"""

from __future__ import annotations

import pytest

IMG = "alpine"
LONG_NAME = "a" * 64
AF = "--azure-file-volume-share-name s --azure-file-volume-account-name acct"
UID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
YAML_OK_HEAD = "apiVersion: 2023-05-01\nname: web\ntype: Microsoft.ContainerInstance/containerGroups\n"

# (line or cell, expected fragment of the one-line message)
CATALOGUE: list[tuple[str, str]] = [
    # commands and flags
    ("%aci", "a command is needed"),
    ("%aci lst", "did you mean 'list'"),
    ("%aci crate web --image alpine", "did you mean 'create'"),
    ("%aci exec web", "exec: a command is needed after --"),
    ("%aci create web --image alpine --cpux 1", "did you mean --cpu?"),
    ("%aci create web --image alpine --memoryInGb 1", "did you mean --memory?"),
    ("%aci list --bogus", "unrecognized arguments: --bogus"),
    ("%aci use cloud", "invalid choice: 'cloud'"),
    ("%aci use local --auth-file auth.json", "go with 'use azure'"),
    ("%aci create web --image 'alpine", "no closing quotation"),
    ("%aci show", "the following arguments are required: NAME"),
    ("%aci delete", "the following arguments are required: NAME"),
    # names
    ("%aci create Bad_Name --image alpine", "NAME: 'Bad_Name' is invalid"),
    ("%aci create web- --image alpine", "NAME: 'web-' is invalid"),
    (f"%aci create {LONG_NAME} --image alpine", "the limit is 63"),
    ("%aci create --image alpine", "NAME is required"),
    ("%aci show Web_1", "NAME: 'Web_1' is invalid"),
    ("%aci start UPPER", "NAME: 'UPPER' is invalid"),
    ("%aci delete ok-name bad--name --yes", "NAME: 'bad--name' is invalid"),
    ("%aci list -g 'bad rg.'", "-g: 'bad rg.' is invalid"),
    ("%aci delete-rg 'bad rg.' --yes", "RG: 'bad rg.' is invalid"),
    ("%aci logs web -c Bad_C", "-c: 'Bad_C' is invalid"),
    # image
    ("%aci create web", "--image is required"),
    ("%aci create web --image 'my image'", "an image reference contains no spaces"),
    ("%aci run 'bad image'", "IMG: 'bad image' is invalid"),
    # cpu / memory
    ("%aci create web --image alpine --cpu abc", "--cpu: 'abc' must be a positive number of cores"),
    ("%aci create web --image alpine --cpu 0", "--cpu: '0' must be a positive number of cores"),
    ("%aci create web --image alpine --cpu 9", "more than the 4"),
    ("%aci create web --image alpine --memory -1", "--memory: '-1' must be a positive number of GB"),
    ("%aci create web --image alpine --memory lots", "--memory: 'lots' must be a positive number of GB"),
    ("%aci create web --image alpine --memory 64", "64 GB is more than the 16 GB"),
    ("%aci run alpine --cpu 0", "--cpu: '0' must be a positive number"),
    # ports and networking
    ("%aci create web --image alpine --ports 99999", "--ports: 99999 is out of range"),
    ("%aci create web --image alpine --ports http", "--ports: 'http' is not a port number"),
    ("%aci create web --image alpine --ports 80 80", "--ports: 80/TCP is listed twice"),
    ("%aci create web --image alpine --ports 1 2 3 4 5 6 --ip-address Public", "at most 5"),
    ("%aci create web --image alpine --protocol SCTP", "--protocol: 'SCTP' is not one of TCP, UDP"),
    ("%aci create web --image alpine --ip-address Elastic", "--ip-address: 'Elastic' is not one of"),
    ("%aci create web --image alpine --dns-name-label ab", "--dns-name-label: 'ab' is invalid"),
    ("%aci create web --image alpine --dns-name-label 1abc-x", "--dns-name-label: '1abc-x' is invalid"),
    # environment
    ("%aci create web --image alpine --env NOVALUE", "--env: 'NOVALUE' must be in the format KEY=VALUE"),
    ("%aci create web --image alpine --env _BAD=1", "--env: name '_BAD' is invalid"),
    ("%aci create web --image alpine --secure-env BAD-NAME=x", "--secure-env: name 'BAD-NAME' is invalid"),
    ("%aci create web --image alpine --env A=1 A=2", "duplicate environment variable 'A'"),
    ("%aci create web --image alpine --secure-env TOKEN=$no_such_variable", "no notebook variable 'no_such_variable'"),
    ("%aci run alpine --env X", "--env: 'X' must be in the format KEY=VALUE"),
    # policies, os, command, registry
    ("%aci create web --image alpine --restart-policy Sometimes",
     "--restart-policy: 'Sometimes' is not one of Always, OnFailure, Never"),
    ("%aci create web --image alpine --os-type Mac", "--os-type: 'Mac' is not one of Linux, Windows"),
    ("""%aci create web --image alpine --command-line "echo 'unclosed" """, "cannot split"),
    ("%aci create web --image alpine --registry-login-server r.azurecr.io --registry-username u",
     "--registry-password: is required"),
    # logs, run, export, list options
    ("%aci logs web --tail x", "--tail: 'x' must be a whole number of lines"),
    ("%aci logs web --tail -3", "--tail: '-3' must be a whole number of lines"),
    ("%aci logs web --follow --tail 3", "cannot be combined with --follow"),
    ("%aci run alpine --timeout soon", "--timeout: 'soon' must be a positive number of seconds"),
    ("%aci export web --format json", "--format: 'json' is not one of yaml, python, az"),
    ("%aci list --out 1df", "--out: '1df' is not a valid Python variable name"),
    # issue 18: az's flags for volumes, identity, VNet, diagnostics, registry identity, sku, priority, zone, policy
    ("%aci create web --image alpine --azure-file-volume-share-name s --azure-file-volume-mount-path /m",
     "Please specify --azure-file-volume-account-name"),
    (f"%aci create web --image alpine {AF} --azure-file-volume-mount-path /m",
     "--azure-file-volume-account-key: Please specify --azure-file-volume-account-key"),
    (f"%aci create web --image alpine {AF} --azure-file-volume-account-key k",
     "--azure-file-volume-mount-path: is required"),
    ("%aci create web --image alpine --azure-file-volume-mount-path /m",
     "Please specify --azure-file-volume-share-name --azure-file-volume-account-name"),
    (f"%aci create web --image alpine {AF} --azure-file-volume-account-key k --azure-file-volume-mount-path m",
     "--azure-file-volume-mount-path: 'm' is invalid: a volume mount path must be absolute"),
    (f"%aci create web --image alpine {AF} --azure-file-volume-account-key k --azure-file-volume-mount-path C:/m",
     "can't contain ':'"),
    ((f"%aci create web --image alpine {AF} --azure-file-volume-account-key k --azure-file-volume-mount-path /m "
     "--secrets a=bcdefg --secrets-mount-path /m"), "already a mount path"),
    (("%aci create web --image alpine --azure-file-volume-share-name S_1 --azure-file-volume-account-name a "
     "--azure-file-volume-account-key k --azure-file-volume-mount-path /m --os-type Windows"),
     "volumes are not supported for Windows"),
    ("%aci create web --image alpine --secrets a=bcdefg", "Please specify --secrets --secrets-mount-path"),
    ("%aci create web --image alpine --secrets-mount-path /s", "--secrets-mount-path: needs --secrets"),
    ("%aci create web --image alpine --secrets novalue --secrets-mount-path /s",
     "--secrets: item 1: Secrets need to be specified in key=value format."),
    ("%aci create web --image alpine --secrets a/b=content --secrets-mount-path /s", "not a valid file name"),
    ("%aci create web --image alpine --gitrepo-url https://github.com/a/b", "--gitrepo-mount-path: is required"),
    ("%aci create web --image alpine --gitrepo-mount-path /src", "Please specify --gitrepo-url"),
    ("%aci create web --image alpine --gitrepo-url github.com/a/b --gitrepo-mount-path /src",
     "--gitrepo-url: must be a full http"),
    (("%aci create web --image alpine --gitrepo-url https://github.com/a/b --gitrepo-dir ../up "
     "--gitrepo-mount-path /src"), "the git repo directory cannot contain '..'"),
    ("%aci create web --image alpine --assign-identity notanid", "--assign-identity: 'notanid' is not a user-assigned"),
    ("%aci create web --image alpine --assign-identity --os-type Windows",
     "--assign-identity: a system-assigned managed identity is not supported for Windows"),
    ("%aci create web --image alpine --subnet /subscriptions/s/x", "--subnet: must be a subnet resource id"),
    ("%aci create web --image alpine --vnet v1", "usage error: --vnet NAME --subnet NAME"),
    ("%aci create web --image alpine --vnet v1 --subnet a --ip-address Public",
     'Can not use "--subnet" or "--vnet" with IP address type "Public".'),
    ("%aci create web --image alpine --vnet v1 --subnet a --dns-name-label mylabel1",
     'Can not use "--subnet" or "--vnet" with "--dns-name-label".'),
    ("%aci create web --image alpine --ip-address Private --ports 80", "--ip-address: a Private IP address needs"),
    ("%aci create web --image alpine --log-analytics-workspace-key wskey123",
     '"--log-analytics-workspace-key" requires "--log-analytics-workspace".'),
    ("%aci create web --image alpine --log-analytics-workspace w1",
     "--log-analytics-workspace-key: is required"),
    (f"%aci create web --image alpine --acr-identity {UID}", "Failed to parse login server from image name"),
    (f"%aci create web --image r.azurecr.io/app --acr-identity {UID}",
     "--acr-identity: must also be one of the group's user-assigned identities"),
    ("%aci create web --image alpine --acr-identity /subscriptions/x", "--acr-identity: '/subscriptions/x' is not"),
    ("%aci create web --image alpine --sku Gold", "--sku: 'Gold' is not one of Standard, Dedicated, Confidential"),
    ("%aci create web --image alpine --sku Confidential --os-type Windows",
     "--sku: the Confidential sku is for Linux container groups only"),
    ("%aci create web --image alpine --priority Urgent", "--priority: 'Urgent' is not one of Regular, Spot"),
    ("%aci create web --image alpine --priority Spot --ip-address Public",
     "--priority: Spot container groups have no IP"),
    ("%aci create web --image alpine --priority Spot --zone 1", "can't be pinned to an availability zone"),
    ("%aci create web --image alpine --zone 4", "--zone: '4' is not an availability zone"),
    ("%aci create web --image alpine --cce-policy cGFja2FnZQ==", "--cce-policy: needs --sku Confidential"),
    ("%aci create web --image alpine --sku Confidential --cce-policy 'not base64'", "--cce-policy: must be base64"),
    ("%aci create web --image alpine --azure-file-volume-key k", "did you mean --azure-file-volume-account-key?"),
    ("%%aci create --sku Confidential\nname: web\n", "--sku: with a YAML cell the group comes from the cell"),
    ("%%aci create\n" + YAML_OK_HEAD + "properties:\n  osType: Linux\n  containers:\n  - name: web\n"
     "    properties:\n      image: alpine\n      resources: {requests: {cpu: 1, memoryInGB: 1}}\n"
     "      volumeMounts: [{name: nope, mountPath: /x}]\n",
     "containers[0].volume_mounts[0].name: volume 'nope' is not in the group's volumes"),
    ("%%aci create\n" + YAML_OK_HEAD + "properties:\n  osType: Linux\n  priority: Spot\n"
     "  ipAddress: {type: Public, ports: [{port: 80}]}\n  containers:\n  - name: web\n"
     "    properties:\n      image: alpine\n      ports: [{port: 80}]\n"
     "      resources: {requests: {cpu: 1, memoryInGB: 1}}\n", "priority: Spot container groups have no IP"),
    # cells
    ("%%aci create\nname: [unclosed", "invalid YAML at line"),
    ("%%aci create\n# only a comment\n", "the document is empty"),
    ("%%aci create other\n" + YAML_OK_HEAD +
     "properties:\n  osType: Linux\n  containers:\n  - name: web\n    properties:\n      image: alpine\n"
     "      resources: {requests: {cpu: 1, memoryInGB: 1}}\n", "other"),
    ("%%aci create\n" + YAML_OK_HEAD +
     "properties:\n  osType: Linux\n  containers:\n  - name: web\n    properties:\n      image: alpine\n"
     "      resources: {requests: {cpu: 9, memoryInGB: 1}}\n", "containers[0].cpu"),
    ("%%aci create\n" + YAML_OK_HEAD + "properties:\n  osType: Linux\n  bogusKey: 1\n", "bogusKey"),
    ("%%aci create --image alpine\nname: web\n", "with a YAML cell the group comes from the cell"),
    ("%%aci list\nname: web\n", "only %%aci create takes a cell body"),
]


def test_catalogue_is_big_enough():
    assert len(CATALOGUE) >= 100


@pytest.mark.parametrize(("line", "fragment"), CATALOGUE, ids=[c[0].splitlines()[0][:60] for c in CATALOGUE])
def test_bad_line(run, requests, line, fragment):
    shown = run(line)
    assert not shown.success, f"{line!r} was accepted"
    message = shown.err.strip()
    assert shown.out == ""
    assert message.count("\n") == 0, f"more than one line:\n{shown.text}"
    assert message.startswith("UsageError: aci: "), message
    assert fragment in message
    assert "Traceback" not in shown.text
    assert requests.requests() == [], f"{line!r} sent requests"


SENTINEL = "S3NT1NEL-do-not-print-9f2c"


@pytest.mark.parametrize("line", [
    f"%aci create web --image alpine --secure-env TOKEN={SENTINEL} BAD-NAME={SENTINEL}",
    f"%aci create web --image alpine --secure-env TOKEN={SENTINEL} --cpu abc",
    f"%aci create web --image alpine --registry-login-server r.azurecr.io --registry-password {SENTINEL}",
    f"%aci create web --image alpine --secure-env TOKEN={SENTINEL} TOKEN={SENTINEL}x",
    f"%aci run alpine --secure-env A={SENTINEL} --env B",
    f"%aci create web --image alpine --azure-file-volume-share-name s --azure-file-volume-account-key {SENTINEL}",
    f"%aci create web --image alpine --secrets a={SENTINEL} b/c={SENTINEL}x --secrets-mount-path /s",
    f"%aci create web --image alpine --secrets {SENTINEL}",
    f"%aci create web --image alpine --log-analytics-workspace-key {SENTINEL}",
    f"%aci create web --image alpine --log-analytics-workspace w --log-analytics-workspace-key {SENTINEL} --cpu x",
    f"%aci create web --image alpine --gitrepo-url https://u:{SENTINEL}@github.com/a/b",
    f"%aci create web --image alpine --gitrepo-url u:{SENTINEL}@github.com --gitrepo-mount-path /s",
    f"%aci create web --image alpine --cce-policy {SENTINEL}",
])
def test_secret_values_never_echoed_in_errors(run, requests, line):
    shown = run(line)
    assert not shown.success
    assert SENTINEL not in shown.text
    assert requests.requests() == []


@pytest.mark.parametrize("line", [
    f"%aci create web --image alpine --secure-env {SENTINEL}",  # '=' forgotten: the value alone
    f"%aci create web --image alpine --secure-env TOKEN {SENTINEL}",
    f"%aci create web --image alpine --registry-password {SENTINEL} {SENTINEL}",  # a stray copy: unrecognized
    f"%aci run alpine --secure-env=TOKEN={SENTINEL} --bogus",
    # an unknown flag (an az flag of another version, a typo): its value is never echoed
    f"%aci create web --image alpine --azure-file-volume-key {SENTINEL}",
    f"%aci create web --image alpine --storage-key={SENTINEL}",
    f"%aci list {SENTINEL}",
])
def test_mistyped_secrets_are_masked(run, requests, line):
    shown = run(line)
    message = shown.err.strip()
    assert not shown.success and message.count("\n") == 0
    assert SENTINEL not in shown.text, message
    assert requests.requests() == []
