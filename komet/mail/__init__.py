"""Email: the outbox (write with the change, send after commit, at least once with a stable
Message-ID) and the kinds of email the product sends."""
