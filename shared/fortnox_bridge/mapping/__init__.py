"""The mapping layer every function shares: upstream rows to Fortnox accounts, articles and dimensions."""
