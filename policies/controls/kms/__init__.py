"""Key management (PCI-KMS-*): every layer of these controls, side by side
(README "One home per control")."""
