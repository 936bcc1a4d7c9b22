"""Application load balancers (PCI-ALB-*): every layer of these controls, side by side
(README "One home per control")."""
