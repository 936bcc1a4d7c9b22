"""The synth-time PCI rule pack (cdk-nag style): one rule per single-resource control of the catalog.

The rules live with their controls (``policies/controls/<area>/rules.py``, registered by
``policies.rules.registry``); :class:`PciRulePack` is the aspect a stack adds after the cost-allocation tagging
aspect.
"""

from app.aspects.pci.aspect import PciRulePack

__all__ = ["PciRulePack"]
