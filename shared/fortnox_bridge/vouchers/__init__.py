"""Vouchers: sales days and ready-made journals booked in Fortnox."""
