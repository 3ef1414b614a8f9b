"""``%aci create``'s issue-18 flags (volumes, identity, VNet, diagnostics, registry identity, sku, priority, zone,
policy) onto the one-container spec the basic flags built; ``spec/az_flags.py`` does the building and the checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .helpers import MagicsHost, secure_pairs, secure_value

if TYPE_CHECKING:
    import argparse

    from ..spec import GroupSpec


def with_features(host: MagicsHost, args: argparse.Namespace, spec: GroupSpec, secrets: list[str]) -> GroupSpec:
    """az's flags for volumes, identity, VNet, diagnostics, sku... (spec/az_flags.py builds the group)."""
    from ..errors import InvalidInput
    from ..spec.az_flags import AzOptions, apply_az_options
    from .parser import MagicUsage

    shell = host.shell
    options = AzOptions(
        azure_file_share=args.azure_file_volume_share_name, azure_file_account=args.azure_file_volume_account_name,
        azure_file_key=secure_value(shell, "--azure-file-volume-account-key", args.azure_file_volume_account_key,
                                    secrets),
        azure_file_mount_path=args.azure_file_volume_mount_path,
        secrets=secure_pairs(shell, args.secrets, secrets, "--secrets"), secrets_mount_path=args.secrets_mount_path,
        gitrepo_url=args.gitrepo_url, gitrepo_dir=args.gitrepo_dir, gitrepo_revision=args.gitrepo_revision,
        gitrepo_mount_path=args.gitrepo_mount_path, assign_identity=args.assign_identity, vnet=args.vnet,
        subnet=args.subnet, log_analytics_workspace=args.log_analytics_workspace,
        log_analytics_workspace_key=secure_value(shell, "--log-analytics-workspace-key",
                                                 args.log_analytics_workspace_key, secrets),
        acr_identity=args.acr_identity, sku=args.sku, priority=args.priority, zone=args.zone,
        cce_policy=args.cce_policy, resource_group=args.resource_group)
    try:
        from ..spec.az_flags import combination_problems

        problems = combination_problems(options, ip_address=spec.ip_address_type,
                                        dns_name_label=spec.dns_name_label)
        if problems:
            raise InvalidInput(problems)
        if options.needs_subscription():  # a bare VNet or identity name: az resolves it in the subscription
            current = host.session()
            options.subscription = current.subscription_id
            options.resource_group = options.resource_group or current.resource_group
        return apply_az_options(spec, options, image=args.image)
    except InvalidInput as error:
        flag, message = next(iter(error.problems.items()))
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        raise MagicUsage(f"create: {flag}: {message}{more}") from None
