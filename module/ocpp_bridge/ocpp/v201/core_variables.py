"""The OCPP 2.0.1 variables of the station as a whole, which no single functional block owns.
PURE data.

Owns the declarations of the station-level variables: how messages are timed and retried
(OCPPCommCtrlr MessageTimeout, MessageAttempts/MessageAttemptInterval[TransactionEvent],
QueueAllMessages: the station core's delivery policy), the connection (network profiles,
RetryBackOff*, WebSocketPingInterval, SecurityCtrlr's identity and profile), what the station
supports (FileTransferProtocols), its clock (ClockCtrlr) and the
ChargingStation component (its Available / AvailabilityState are written by the availability and
status blocks, Problem by the status block: true while a connector is Faulted;
AllowNewSessionsPendingFirmwareUpdate is read by the firmware block). Blocks' own
variables (SmartChargingCtrlr: ``smart_charging``) are declared in their modules.

Must never: hold a value or logic.
"""

from __future__ import annotations

from ocpp_bridge.ocpp.v201.dm_definitions import AVAILABILITY_STATES, RO, TIME_SOURCES
from ocpp_bridge.ocpp.v201.variables import (
                                             boolean,
                                             date_time,
                                             fixed,
                                             integer,
                                             member_list,
                                             option,
                                             sequence_list,
                                             string,
)

COMM, SECURITY, CLOCK, STATION = "OCPPCommCtrlr", "SecurityCtrlr", "ClockCtrlr", "ChargingStation"

MESSAGE_ATTEMPTS = integer(COMM, "MessageAttempts", 3, instance="TransactionEvent")
MESSAGE_ATTEMPT_INTERVAL = integer(COMM, "MessageAttemptInterval", 60, instance="TransactionEvent", unit="s")
QUEUE_ALL_MESSAGES = boolean(COMM, "QueueAllMessages", False)
# false: while a downloaded firmware waits for transactions, the idle EVSEs are Unavailable (firmware.py)
ALLOW_NEW_SESSIONS_PENDING_FIRMWARE_UPDATE = boolean(STATION, "AllowNewSessionsPendingFirmwareUpdate", False)
SECURITY_PROFILE = integer(SECURITY, "SecurityProfile", 1, mutability=RO, min_limit=1, max_limit=3)
IDENTITY = string(SECURITY, "Identity", "", max_limit=48)
ORGANIZATION_NAME = string(SECURITY, "OrganizationName", "")

VARIABLES = (
    member_list(COMM, "FileTransferProtocols", "HTTP,HTTPS", values_list="FTP,FTPS,HTTP,HTTPS,SFTP", mutability=RO,
                constant=True),
    integer(COMM, "MessageTimeout", 30, mutability=RO, instance="Default", unit="s", min_limit=1),
    MESSAGE_ATTEMPTS,
    MESSAGE_ATTEMPT_INTERVAL,
    sequence_list(COMM, "NetworkConfigurationPriority", "1", pattern=r"[0-9]{1,2}"),
    integer(COMM, "NetworkProfileConnectionAttempts", 3),
    QUEUE_ALL_MESSAGES,
    integer(COMM, "RetryBackOffRandomRange", 10, unit="s"),
    integer(COMM, "RetryBackOffRepeatTimes", 5),
    integer(COMM, "RetryBackOffWaitMinimum", 10, unit="s"),
    integer(COMM, "WebSocketPingInterval", 30, unit="s"),
    IDENTITY,
    ORGANIZATION_NAME,
    SECURITY_PROFILE,
    date_time(CLOCK, "DateTime", persistent=False),
    sequence_list(CLOCK, "TimeSource", "Heartbeat", values_list=TIME_SOURCES),
    boolean(STATION, "Available", True, mutability=RO),
    option(STATION, "AvailabilityState", "Available", values_list=AVAILABILITY_STATES, mutability=RO),
    fixed(STATION, "SupplyPhases", 3, max_limit=3),
    ALLOW_NEW_SESSIONS_PENDING_FIRMWARE_UPDATE,
    boolean(STATION, "Problem", False, mutability=RO, persistent=False),
)
