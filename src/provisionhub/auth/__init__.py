"""Credentials, permissions, and the principal every credential maps onto."""
