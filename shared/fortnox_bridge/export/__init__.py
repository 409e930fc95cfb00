"""Exports to Fortnox: invoices, credits and customers, exactly once."""
