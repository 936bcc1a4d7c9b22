"""The audit trail (CloudTrail) (PCI-TRL-*): every layer of these controls, side by side
(README "One home per control")."""
