"""Operability: what tells an operator the platform is well (health checks)."""
