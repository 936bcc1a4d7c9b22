"""Inventory tags (PCI-TAG-*): every layer of these controls, side by side
(README "One home per control")."""
