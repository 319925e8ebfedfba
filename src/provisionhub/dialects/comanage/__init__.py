"""The COmanage receiver: COmanage Registry's ApiProvisioner (or another provisionhub's connector)
provisions people into provisionhub, POST mode or PUT mode, at /comanage."""
