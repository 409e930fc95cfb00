"""Fortnox Bridge: the shared layer every function imports."""
