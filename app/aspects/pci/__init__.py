"""The synth-time PCI rule pack (cdk-nag style), one rule per single-resource control of the catalog.

Importing this package registers every rule; :class:`PciRulePack` is the aspect a stack adds after the
cost-allocation tagging aspect.
"""

# Imported for their side effect: each module registers its rules with the pack.
from app.aspects.pci import audit, compute, conformance, encryption, identity, network, storage  # noqa: F401
from app.aspects.pci.aspect import PciRulePack

__all__ = ["PciRulePack"]
