"""The version-neutral core: logic both OCPP versions share, with each version's block a thin adapter."""
