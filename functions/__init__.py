"""Thin Functions blueprints: parse input, call one service, map errors to HTTP."""
