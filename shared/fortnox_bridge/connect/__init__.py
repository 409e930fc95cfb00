"""Connect: hosted links, Fortnox consent, the OAuth callback and the tenant's binding to one company."""
