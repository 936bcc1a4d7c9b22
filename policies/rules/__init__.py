"""The shared core of the synth-time rules: what a rule says (:mod:`verdict`), how rules register under a control
id (:mod:`registry`) and how a construct's synthesized attributes are read (:mod:`values`). The rules themselves
live with their controls (``policies/controls/<area>/rules.py``); ``app/aspects/pci`` only walks the constructs."""
