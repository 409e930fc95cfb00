"""Tenant tokens: kept in Secrets Manager, refreshed by exactly one worker at a time."""
