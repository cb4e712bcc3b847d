"""Email: the outbox (write with the change, send after commit, exactly once) and the kinds
of email the product sends."""
