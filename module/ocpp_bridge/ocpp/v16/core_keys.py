"""The OCPP 1.6 keys of the charge point as a whole, which no single functional block owns. PURE data.

Owns the declarations of the station-level keys: what the charge point is (NumberOfConnectors,
SupportedFeatureProfiles), how transaction messages are retried (TransactionMessage*: the
station core's delivery policy), the connection (WebSocketPingInterval, SecurityProfile;
AuthorizationKey belongs to provisioning), the Auth module's timeout (ConnectionTimeOut), and the
Core keys that describe hardware this module does not drive (BlinkRepeat, LightIntensity,
ConnectorPhaseRotation). Blocks' own keys (the smart-charging limits too) are declared in their
modules.

Must never: hold a value or logic.
"""

from __future__ import annotations

from ocpp_bridge.ocpp.v16.keys import choices, integer, limit, phase_rotation

NUMBER_OF_CONNECTORS = limit("NumberOfConnectors", 1)
SUPPORTED_FEATURE_PROFILES = choices("SupportedFeatureProfiles", "profiles",
                                     "Core,FirmwareManagement,LocalAuthListManagement,Reservation,RemoteTrigger,SmartCharging",
                                     max_length_key="SupportedFeatureProfilesMaxLength")
TRANSACTION_MESSAGE_ATTEMPTS = integer("TransactionMessageAttempts", 3)
TRANSACTION_MESSAGE_RETRY_INTERVAL = integer("TransactionMessageRetryInterval", 60)
CONNECTION_TIME_OUT = integer("ConnectionTimeOut", 60)
SECURITY_PROFILE = integer("SecurityProfile", 0, maximum=3)

KEYS = (
    integer("BlinkRepeat", 3),
    CONNECTION_TIME_OUT,
    phase_rotation("ConnectorPhaseRotation", "0.Unknown", max_length_key="ConnectorPhaseRotationMaxLength"),
    limit("ConnectorPhaseRotationMaxLength", 10),
    integer("LightIntensity", 100, maximum=100),
    NUMBER_OF_CONNECTORS,
    SUPPORTED_FEATURE_PROFILES,
    limit("SupportedFeatureProfilesMaxLength", 6),
    TRANSACTION_MESSAGE_ATTEMPTS,
    TRANSACTION_MESSAGE_RETRY_INTERVAL,
    integer("WebSocketPingInterval", 30),
    SECURITY_PROFILE,
)
