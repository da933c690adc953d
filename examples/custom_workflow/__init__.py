"""A team's own workflow ("email first, SMS only on request") and its tests."""
