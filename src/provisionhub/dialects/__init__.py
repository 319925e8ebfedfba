"""Inbound wire formats, one package each. A dialect translates; it never imports another dialect."""
