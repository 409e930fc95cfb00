"""The payment schedule's tick: which tenants are due a payment poll, and one poll job on the queue for each."""
