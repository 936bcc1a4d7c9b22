"""The PCI DSS policy gate: a control catalog enforced by synth-time aspects, checkov and JMESPath rules.

See README.md ("Policy gate") and ``python -m policies --help``.
"""
