"""provisionhub: one directory of people, many dialects in, many targets out."""

__version__ = "0.1.0"
