"""Custom checkov checks of the PCI gate (CKV_PCI_* Python checks, CKV2_PCI_* YAML graph checks).

checkov loads Python checks only from directories that contain an ``__init__.py``, and silently skips them
otherwise; this file is that marker. Each check module defines one class and ``check = <instance>``.
"""
