"""The bookkeeper's status page: signed, expiring links and the hosted page they open."""
