"""The S3 audit archive (PCI-S3-*): every layer of these controls, side by side
(README "One home per control")."""
