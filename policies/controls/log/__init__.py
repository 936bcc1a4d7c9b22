"""Log retention and flow logs (PCI-LOG-*): every layer of these controls, side by side
(README "One home per control")."""
