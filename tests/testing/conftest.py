"""Fixtures for the test kit's own tests; ``pytester`` runs the plugin in a nested pytest."""

from __future__ import annotations

pytest_plugins = ["pytester"]
