"""ARM's tenant- and subscription-level reads that real clients make before any resource call (issue 13).

- ``GET /metadata/endpoints`` (anonymous, as ARM serves it): the cloud description ``az cloud register``
  discovers, every endpoint pointing at this emulator;
- ``GET /subscriptions``, ``GET /subscriptions/{id}``: what ``az login --service-principal`` reads;
- ``GET /tenants``, ``GET /subscriptions/{id}/locations`` (the regions ACI offers).

Shapes follow the spec examples vendored in ``tests/fixtures/arm-shapes/`` (the answers public Azure gives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api_versions import ACI_LOCATIONS
from .replies import Call, Reply

if TYPE_CHECKING:
    from ..state.backend import Backend

DISPLAY_NAME = "ACI emulator"
DOMAIN = "aci-emulator.localhost"

# name -> (display name, geography group, geography, physical location, paired region)
_REGIONS: dict[str, tuple[str, str, str, str, str]] = {
    "australiaeast": ("Australia East", "Asia Pacific", "Australia", "New South Wales", "australiasoutheast"),
    "brazilsouth": ("Brazil South", "South America", "Brazil", "Sao Paulo State", "southcentralus"),
    "canadacentral": ("Canada Central", "Canada", "Canada", "Toronto", "canadaeast"),
    "centralindia": ("Central India", "Asia Pacific", "India", "Pune", "southindia"),
    "centralus": ("Central US", "US", "United States", "Iowa", "eastus2"),
    "eastasia": ("East Asia", "Asia Pacific", "Asia Pacific", "Hong Kong", "southeastasia"),
    "eastus": ("East US", "US", "United States", "Virginia", "westus"),
    "eastus2": ("East US 2", "US", "United States", "Virginia", "centralus"),
    "francecentral": ("France Central", "Europe", "France", "Paris", "francesouth"),
    "germanywestcentral": ("Germany West Central", "Europe", "Germany", "Frankfurt", "germanynorth"),
    "japaneast": ("Japan East", "Asia Pacific", "Japan", "Tokyo, Saitama", "japanwest"),
    "koreacentral": ("Korea Central", "Asia Pacific", "Korea", "Seoul", "koreasouth"),
    "northcentralus": ("North Central US", "US", "United States", "Illinois", "southcentralus"),
    "northeurope": ("North Europe", "Europe", "Europe", "Ireland", "westeurope"),
    "norwayeast": ("Norway East", "Europe", "Norway", "Norway", "norwaywest"),
    "southafricanorth": ("South Africa North", "Africa", "South Africa", "Johannesburg", "southafricawest"),
    "southcentralus": ("South Central US", "US", "United States", "Texas", "northcentralus"),
    "southeastasia": ("Southeast Asia", "Asia Pacific", "Asia Pacific", "Singapore", "eastasia"),
    "swedencentral": ("Sweden Central", "Europe", "Sweden", "Gävle", "swedensouth"),
    "switzerlandnorth": ("Switzerland North", "Europe", "Switzerland", "Zurich", "switzerlandwest"),
    "uaenorth": ("UAE North", "Middle East", "UAE", "Dubai", "uaecentral"),
    "uksouth": ("UK South", "UK", "United Kingdom", "London", "ukwest"),
    "westcentralus": ("West Central US", "US", "United States", "Wyoming", "westus2"),
    "westeurope": ("West Europe", "Europe", "Europe", "Netherlands", "northeurope"),
    "westus": ("West US", "US", "United States", "California", "eastus"),
    "westus2": ("West US 2", "US", "United States", "Washington", "westcentralus"),
    "westus3": ("West US 3", "US", "United States", "Phoenix", "eastus"),
}
assert tuple(_REGIONS) == ACI_LOCATIONS


def metadata_endpoints(base: str) -> dict[str, Any]:
    """The 2022-09-01 cloud object (one object, not the array of older versions), pointing at ``base``."""
    root = base.rstrip("/") + "/"
    return {
        "portal": root + "portal",
        "authentication": {"loginEndpoint": base.rstrip("/"), "audiences": [root], "tenant": "common",
                           "identityProvider": "AAD"},
        "media": root + "media/",
        "graphAudience": root + "graph/",
        "graph": root + "graph/",
        "name": "AciEmulator",
        "suffixes": {
            "azureDataLakeStoreFileSystem": "azuredatalakestore.localhost",
            "acrLoginServer": "azurecr.localhost",
            "sqlServerHostname": "database.localhost",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.localhost",
            "keyVaultDns": "vault.localhost",
            "storage": "core.localhost",
            "azureFrontDoorEndpointSuffix": "azurefd.localhost",
            "storageSyncEndpointSuffix": "afs.localhost",
            "mhsmDns": "managedhsm.localhost",
            "mysqlServerEndpoint": "mysql.localhost",
            "postgresqlServerEndpoint": "postgres.localhost",
            "mariadbServerEndpoint": "mariadb.localhost",
            "synapseAnalytics": "dev.azuresynapse.localhost",
            "attestationEndpoint": "attest.localhost",
        },
        "batch": root + "batch/",
        "resourceManager": root,
        "vmImageAliasDoc": root + "vmImageAliasDoc",
        "activeDirectoryDataLake": root + "datalake/",
        "sqlManagement": root + "sql/",
        "microsoftGraphResourceId": root + "msgraph/",
        "appInsightsResourceId": root + "appinsights",
        "appInsightsTelemetryChannelResourceId": root + "appinsights/v2/track",
        "attestationResourceId": root + "attestation",
        "synapseAnalyticsResourceId": root + "synapse",
        "logAnalyticsResourceId": root + "loganalytics",
        "ossrDbmsResourceId": root + "ossrdbms",
        "gallery": root + "gallery/",
    }


def subscription(config: dict[str, Any]) -> dict[str, Any]:
    sub = str(config["subscriptionId"])
    return {
        "id": f"/subscriptions/{sub}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub,
        "tenantId": str(config["tenantId"]),
        "displayName": DISPLAY_NAME,
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                 "spendingLimit": "Off"},
    }


def tenant(config: dict[str, Any]) -> dict[str, Any]:
    tenant_id = str(config["tenantId"])
    return {"id": f"/tenants/{tenant_id}", "tenantId": tenant_id, "countryCode": "US", "displayName": DISPLAY_NAME,
            "domains": [DOMAIN], "tenantCategory": "Home", "defaultDomain": DOMAIN, "tenantType": "AAD"}


def location(sub: str, name: str) -> dict[str, Any]:
    display, group, geography, physical, paired = _REGIONS[name]
    return {
        "id": f"/subscriptions/{sub}/locations/{name}",
        "name": name,
        "type": "Region",
        "displayName": display,
        "regionalDisplayName": f"({group}) {display}",
        "metadata": {"regionType": "Physical", "regionCategory": "Recommended", "geography": geography,
                     "geographyGroup": group, "physicalLocation": physical,
                     "pairedRegion": [{"name": paired, "id": f"/subscriptions/{sub}/locations/{paired}"}]},
    }


# -- handlers (the ARM router calls them with the backend and the parsed call) ---------------------------------
def list_subscriptions(backend: Backend, call: Call) -> Reply:
    return Reply(200, {"value": [subscription(backend.home.config())], "count": {"type": "Total", "value": 1}})


def get_subscription(backend: Backend, call: Call) -> Reply:
    return Reply(200, subscription(backend.home.config()))  # the router has checked the id


def list_tenants(backend: Backend, call: Call) -> Reply:
    return Reply(200, {"value": [tenant(backend.home.config())]})


def list_locations(backend: Backend, call: Call) -> Reply:
    sub = str(backend.home.config()["subscriptionId"])
    return Reply(200, {"value": [location(sub, name) for name in ACI_LOCATIONS]})


ROUTES = [
    ("subscriptions", {"GET": list_subscriptions}),
    ("subscriptions/{sub}", {"GET": get_subscription}),
    ("subscriptions/{sub}/locations", {"GET": list_locations}),
    ("tenants", {"GET": list_tenants}),
]
