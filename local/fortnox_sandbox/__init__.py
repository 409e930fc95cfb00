"""A stateful stand-in for Fortnox on 127.0.0.1, as strict as the real service."""
