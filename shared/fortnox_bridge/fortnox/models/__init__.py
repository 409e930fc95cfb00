"""Pydantic models of the Fortnox resources the bridge reads and writes, typed against openapi.json."""
