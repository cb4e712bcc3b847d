"""Accounts: logins, passwords, and the buyers' links to customers."""
