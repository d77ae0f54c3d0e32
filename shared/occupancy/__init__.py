"""Occupancy sensors: ingest, storage, sensor health, metrics, no-show release, policy simulator, ghost series.

Imports the ground floor, adapters through ports, and shared.analytics definitions; not sync or onboarding internals.
"""
