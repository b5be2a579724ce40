"""The OCPP-J error kinds as exceptions: what a CALL handler raises to answer with a CALLERROR. PURE.

Owns one exception class per error kind OCPP-J defines (1.6 §4.2.3, 2.0.1 part 4 §4.3), each
with its kind (see ``rpc.error_code``, which spells it per version) and a default description.
A handler raises e.g. ``OccurrenceConstraintViolation("12 items exceed ItemsPerMessage=10")``;
the station core's one converter turns it into the version's CALLERROR. Any other exception a
handler raises becomes InternalError there.

Must never: know a version's spelling of a code (that is ``rpc.py``), or be used for local
failures of our own calls (timeouts, lost connections: see ``outcome.py``).
"""

from __future__ import annotations

from typing import ClassVar


class OcppError(Exception):
    """An error the CSMS is to be told about in a CALLERROR."""

    kind: ClassVar[str] = "generic"
    default_description: ClassVar[str] = "Any other error not covered by the more specific error codes"

    def __init__(self, description: str = "", details: dict[str, object] | None = None) -> None:
        super().__init__(description or self.default_description)
        self.description = description or self.default_description
        self.details = dict(details or {})


class FormatViolation(OcppError):
    kind = "format"
    default_description = "Payload for Action is syntactically incorrect"


class TypeConstraintViolation(OcppError):
    kind = "type"
    default_description = "A field of the payload violates its data type"


class PropertyConstraintViolation(OcppError):
    kind = "property"
    default_description = "A field of the payload contains an invalid value"


class OccurrenceConstraintViolation(OcppError):
    kind = "occurrence"
    default_description = "A field of the payload violates its occurrence constraints"


class NotImplementedAction(OcppError):
    kind = "not_implemented"
    default_description = "The requested Action is not known by the receiver"


class NotSupportedAction(OcppError):
    kind = "not_supported"
    default_description = "The requested Action is recognized but not supported by the receiver"


class InternalError(OcppError):
    kind = "internal"
    default_description = "An internal error occurred and the receiver could not process the Action"


class ProtocolError(OcppError):
    kind = "protocol"
    default_description = "Payload for Action is incomplete"


class SecurityError(OcppError):
    kind = "security"
    default_description = "A security issue prevents the receiver from completing the Action"


class GenericError(OcppError):
    kind = "generic"


class RpcFrameworkError(OcppError):
    kind = "rpc_framework"
    default_description = "The message is not a valid RPC request"


class MessageTypeNotSupported(OcppError):
    kind = "message_type_not_supported"
    default_description = "A message with this message type id is not supported"


ERRORS: tuple[type[OcppError], ...] = (
    FormatViolation, TypeConstraintViolation, PropertyConstraintViolation, OccurrenceConstraintViolation,
    NotImplementedAction, NotSupportedAction, InternalError, ProtocolError, SecurityError, GenericError,
    RpcFrameworkError, MessageTypeNotSupported,
)
_BY_KIND = {cls.kind: cls for cls in ERRORS}


def error_of_kind(kind: str, description: str = "") -> OcppError:
    """The exception of ``kind`` (e.g. a schema violation's kind) with ``description``."""
    cls = _BY_KIND.get(kind)
    if cls is None:
        raise ValueError(f"unknown OCPP error kind {kind!r}")
    return cls(description)
