"""Custom checkov checks of PCI-RDS-* (one class per file, ``check = <instance>``).

checkov loads Python checks only from directories that contain an ``__init__.py`` and silently skips them
otherwise; this file is that marker."""
