"""The product's public API: what upstream systems put on the queues, validated before anything else happens."""
