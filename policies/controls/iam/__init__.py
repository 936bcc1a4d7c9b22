"""IAM least privilege (PCI-IAM-*): every layer of these controls, side by side
(README "One home per control")."""
