"""Sync: Graph change notifications, subscriptions, the per-room delta engine, privacy normalisation, catch-up.

Imports the ground floor and adapters through ports; tenants and rooms rows through shared.onboarding.
"""
