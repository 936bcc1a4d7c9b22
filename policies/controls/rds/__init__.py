"""Aurora PostgreSQL (PCI-RDS-*): every layer of these controls, side by side
(README "One home per control")."""
