"""Invites: the seller's permanent invite link and QR code, and the access requests
(Register Here) that come through it, from the visitor's form to staff's decision."""
