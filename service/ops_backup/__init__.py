"""Operator tools for backup and restore (docs/install.md, "Backup and restore")."""
