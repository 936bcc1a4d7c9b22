"""Encryption at rest with customer-managed keys (PCI-ENC-*): every layer of these controls, side by side
(README "One home per control")."""
