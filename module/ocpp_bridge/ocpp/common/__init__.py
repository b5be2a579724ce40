"""The version-neutral core of the OCPP functional blocks: the logic 1.6 and 2.0.1 share,
written once; each version's block is a thin adapter onto it. PURE."""
