"""The Fortnox API client: typed resources over one HTTP transport."""
