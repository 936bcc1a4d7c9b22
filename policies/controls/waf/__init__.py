"""The web application firewall (PCI-WAF-*): every layer of these controls, side by side
(README "One home per control")."""
