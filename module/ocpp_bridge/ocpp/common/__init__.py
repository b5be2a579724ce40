"""The version-neutral core of the OCPP functional blocks: what 1.6 and 2.0.1 do alike, written once. PURE."""
