"""One module per Fortnox resource, each with its rules and its routes."""
