"""One Fortnox rate limit per client and tenant, shared by every worker through DynamoDB."""
