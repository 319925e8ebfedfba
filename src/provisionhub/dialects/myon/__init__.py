"""myON bulk provisioning (accounts, buildings, permissions, users), mounted at /myon."""
