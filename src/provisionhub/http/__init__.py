"""HTTP pieces every dialect shares: reading request bodies safely."""
