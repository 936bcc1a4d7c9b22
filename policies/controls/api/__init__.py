"""The REST API edge (PCI-API-*): every layer of these controls, side by side
(README "One home per control")."""
