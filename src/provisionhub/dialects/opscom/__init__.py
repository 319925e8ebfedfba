"""OPS-COM (Operations Commander) profile push: one JSON call that creates or updates a person."""
