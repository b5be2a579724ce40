"""Which OCPP values are secrets, and how they look in a log: masked. PURE.

Owns the one masking rule for everything that is logged: the Basic-auth password in the
1.6 configuration key ``AuthorizationKey`` and the 2.0.1 variable
``SecurityCtrlr.BasicAuthPassword`` (both write-only), the module option
``BasicAuthPassword``, and the HTTP ``Authorization`` credentials made from them.

- ``mask_frame``: an OCPP frame as it may be logged. A ChangeConfiguration of a secret key
  or a SetVariables entry of a secret variable gets its value replaced by ``MASK`` (any
  length, also a value the station then refuses); other frames are unchanged.
- ``shown_key`` / ``shown_variable``: a 1.6 key's / 2.0.1 variable's value for a log line.
- ``Redactor``: the secrets known to this process (added as they become known; at least
  ``Redactor.MIN_CHARS`` long, so that a short word is not erased from every log line) and
  ``redact(text)``, which hides each of them wherever it appears. The engine installs it on
  the log handlers (``ocpp_bridge.log_redaction``) and passes every frame through ``frame``.

Must never: keep a secret anywhere but in memory, or return a text that still holds one.
"""

from __future__ import annotations

import json
from typing import Any

MASK = "********"

SECRET_KEYS_16 = frozenset({"authorizationkey"})                        # case-insensitive
SECRET_VARIABLES_201 = frozenset({("securityctrlr", "basicauthpassword")})  # case-insensitive


def is_secret_key(key: str) -> bool:
    """Is the 1.6 configuration key ``key`` a secret?"""
    return isinstance(key, str) and key.lower() in SECRET_KEYS_16


def is_secret_variable(component: str, variable: str) -> bool:
    """Is the 2.0.1 variable ``component.variable`` a secret?"""
    return (isinstance(component, str) and isinstance(variable, str)
            and (component.casefold(), variable.casefold()) in SECRET_VARIABLES_201)


def shown_key(key: str, value: Any) -> Any:
    return MASK if is_secret_key(key) else value


def shown_variable(component: str, variable: str, value: Any) -> Any:
    return MASK if is_secret_variable(component, variable) else value


def mask_frame(text: str) -> tuple[str, list[str]]:
    """(the frame as it may be logged, the secret values it carried)."""
    if "ChangeConfiguration" not in text and "SetVariables" not in text:
        return text, []  # the only CALLs that carry a secret; no need to parse the others
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return text, []
    if not (isinstance(frame, list) and len(frame) >= 4 and frame[0] == 2 and isinstance(frame[3], dict)):
        return text, []
    found: list[str] = []
    payload = frame[3]
    if frame[2] == "ChangeConfiguration" and is_secret_key(str(payload.get("key"))) and "value" in payload:
        found.append(payload["value"])
        payload["value"] = MASK
    elif frame[2] == "SetVariables" and isinstance(payload.get("setVariableData"), list):
        for item in payload["setVariableData"]:
            if (isinstance(item, dict) and isinstance(item.get("component"), dict)
                    and isinstance(item.get("variable"), dict) and "attributeValue" in item
                    and is_secret_variable(item["component"].get("name"), item["variable"].get("name"))):
                found.append(item["attributeValue"])
                item["attributeValue"] = MASK
    if not found:
        return text, []
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":")), [v for v in found if isinstance(v, str)]


class Redactor:
    """The secrets this process knows; ``redact`` hides them in any text. ``add`` runs on the
    engine thread, ``redact`` on any (the log handlers'): the known set is an immutable tuple
    that ``add`` replaces in one assignment."""

    MIN_CHARS = 6

    def __init__(self) -> None:
        self._known: tuple[str, ...] = ()

    def add(self, secret: str | None) -> None:
        if not isinstance(secret, str) or len(secret) < self.MIN_CHARS or secret in self._known:
            return
        self._known = tuple(sorted((*self._known, secret), key=len, reverse=True))  # longest first

    def redact(self, text: str) -> str:
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def frame(self, text: str) -> str:
        """``mask_frame``, learning the secrets it finds, then ``redact``."""
        masked, found = mask_frame(text)
        for secret in found:
            self.add(secret)
        return self.redact(masked)
