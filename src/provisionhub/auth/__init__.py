"""Credentials kept: API tokens, OAuth clients and their access tokens, people's keys and passwords; and
the Authenticator that tells the directory whom a presented credential stands for."""
