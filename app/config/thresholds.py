"""The PCI thresholds config validation enforces. Their only home is the catalog's ``parameters``
(policies/catalog.yaml); this module reads them from there and holds no copy."""

from __future__ import annotations

from dataclasses import dataclass

from policies.catalog import Catalog, default_catalog

# Every value CloudWatch Logs accepts for retention_in_days; PCI thresholds restrict it (PciThresholds).
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
)


@dataclass(frozen=True)
class PciThresholds:
    """The PCI thresholds config validation enforces, read from the catalog's parameters (their only home):
    a value the gate would refuse is refused here first, before anything is synthesized."""

    environments: tuple[str, ...]
    required_tags: tuple[str, ...]
    data_classifications: tuple[str, ...]
    pci_scopes: tuple[str, ...]
    min_log_retention_days: int
    min_hot_tier_days: int
    min_object_lock_retention_days: int
    min_current_object_expiration_days: int
    max_secret_rotation_days: int
    min_backup_retention_days: int
    alb_tls_policies: tuple[str, ...]
    api_authorizations: tuple[str, ...]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> PciThresholds:
        tag_values = catalog.parameter("tag_values")
        return cls(
            environments=tuple(tag_values["Environment"]),
            required_tags=tuple(catalog.parameter("required_tags")),
            data_classifications=tuple(tag_values["DataClassification"]),
            pci_scopes=tuple(tag_values["PciScope"]),
            min_log_retention_days=catalog.parameter("min_log_retention_days"),
            min_hot_tier_days=catalog.parameter("min_hot_tier_days"),
            min_object_lock_retention_days=catalog.parameter("min_object_lock_retention_days"),
            min_current_object_expiration_days=catalog.parameter("min_current_object_expiration_days"),
            max_secret_rotation_days=catalog.parameter("max_secret_rotation_days"),
            min_backup_retention_days=catalog.parameter("min_backup_retention_days"),
            alb_tls_policies=tuple(catalog.parameter("alb_tls_policies")),
            api_authorizations=tuple(catalog.parameter("api_method_authorizations")),
        )

    @property
    def log_retention_days(self) -> tuple[int, ...]:
        """The CloudWatch retentions long enough for PCI DSS 10.5.1."""
        return tuple(days for days in CLOUDWATCH_RETENTION_DAYS if days >= self.min_log_retention_days)


def default_thresholds() -> PciThresholds:
    return PciThresholds.from_catalog(default_catalog())


# Names of the environments (one file each under app/environments/): the catalog's Environment tag values.
KNOWN_ENVIRONMENTS = default_thresholds().environments
