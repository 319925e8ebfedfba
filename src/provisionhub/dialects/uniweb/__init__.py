"""UNIWeb API (Proximify): the OAuth 2.0 token endpoint and structured resource requests."""
