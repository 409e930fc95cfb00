"""Payment sync: poll a tenant's Fortnox payments and send what changed upstream, once (issue 11)."""
