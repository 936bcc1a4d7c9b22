"""Site-to-site VPN to the legacy data centre: the blue slot's on-prem targets and the DMS source are reached
over it during the migration. IKEv2 only, AES-256 / SHA-256 / DH group 20+, as PCI DSS 4.2.1 expects of
strong cryptography on untrusted networks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdktf_cdktf_provider_aws.customer_gateway import CustomerGateway
from cdktf_cdktf_provider_aws.vpn_connection import VpnConnection
from cdktf_cdktf_provider_aws.vpn_connection_route import VpnConnectionRoute
from cdktf_cdktf_provider_aws.vpn_gateway import VpnGateway
from cdktf_cdktf_provider_aws.vpn_gateway_route_propagation import VpnGatewayRoutePropagation
from constructs import Construct

from app.config import VpnConfig

IKE_VERSIONS = ["ikev2"]
ENCRYPTION = ["AES256", "AES256-GCM-16"]
INTEGRITY = ["SHA2-256", "SHA2-384", "SHA2-512"]
DH_GROUPS = [20, 21]


class SiteToSiteVpn(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: VpnConfig,
        name_prefix: str,
        vpc_id: str,
        route_table_ids: Sequence[str],
    ):
        super().__init__(scope, id_)
        self.gateway = VpnGateway(self, "vgw", vpc_id=vpc_id, tags={"Name": f"{name_prefix}-vgw"})
        self.customer_gateway = CustomerGateway(
            self,
            "cgw",
            bgp_asn=str(config.bgp_asn),
            ip_address=config.customer_gateway_ip,
            type="ipsec.1",
            tags={"Name": f"{name_prefix}-onprem"},
        )
        # The same proposals for both tunnels (tunnel1_*, tunnel2_*): keyword arguments of VpnConnection.
        tunnel: dict[str, Any] = {}
        for number in (1, 2):
            tunnel.update(
                {
                    f"tunnel{number}_ike_versions": IKE_VERSIONS,
                    f"tunnel{number}_phase1_encryption_algorithms": ENCRYPTION,
                    f"tunnel{number}_phase2_encryption_algorithms": ENCRYPTION,
                    f"tunnel{number}_phase1_integrity_algorithms": INTEGRITY,
                    f"tunnel{number}_phase2_integrity_algorithms": INTEGRITY,
                    f"tunnel{number}_phase1_dh_group_numbers": DH_GROUPS,
                    f"tunnel{number}_phase2_dh_group_numbers": DH_GROUPS,
                }
            )
        self.connection = VpnConnection(
            self,
            "connection",
            vpn_gateway_id=self.gateway.id,
            customer_gateway_id=self.customer_gateway.id,
            type="ipsec.1",
            static_routes_only=config.static_routes_only,
            tags={"Name": f"{name_prefix}-onprem"},
            **tunnel,
        )
        if config.static_routes_only:
            for index, cidr in enumerate(config.onprem_cidrs):
                VpnConnectionRoute(
                    self, f"route-{index}", vpn_connection_id=self.connection.id, destination_cidr_block=cidr
                )
        for index, table in enumerate(route_table_ids):
            VpnGatewayRoutePropagation(
                self, f"propagation-{index}", vpn_gateway_id=self.gateway.id, route_table_id=table
            )

    @property
    def connection_id(self) -> str:
        """The VpnId dimension of the connection's AWS/VPN metrics."""
        return self.connection.id
