"""Onboarding: consent, the Exchange RBAC script, tenants, the room registry, verification, offboarding.

Imports the ground floor (shared.*), adapters through ports, and shared.ops.audit; not sync internals.
"""
