"""OCPP 2.0.1 CustomerInformation (N09 get, N10 clear) -> NotifyCustomerInformation. PURE.

Owns the answer to CustomerInformationRequest and the NotifyCustomerInformation messages it
brings. What this station keeps about a customer is what it keeps about an idToken: its
local authorization list entry, its authorization cache entry and the stored (running)
transactions that hold it. A customerIdentifier or customerCertificate refers to nothing
here (no certificate store, no customer ids), so such a request finds no data.

Rules:
- neither ``report`` nor ``clear``: Rejected (N09.FR.07 / N10.FR.07); no reference to a
  customer (idToken, customerCertificate, customerIdentifier): Invalid (N09.FR.04 / N10.FR.08
  are the CSMS's duty; Invalid is the status 2.0.1 has for it); else Accepted.
- ``report``: the data found, as readable text (N09.FR.05), or that none was found
  (N09.FR.06, N10.FR.04).
- ``clear``: the cache entry and the token in the stored transactions that already sent it
  to the CSMS are removed; the local list entry stays (N10.FR.03 / N10.FR.06: only the CSMS
  changes the local list, with SendLocalList, N10.FR.02). Without ``report``, one message says
  what was cleared (N10.FR.06); with it, the report is of the data as it was (N10.FR.03).
- Messages: requestId, seqNo from 0, generatedAt, tbc on all but the last, ``data`` at most
  512 characters each (the text is cut into such chunks).

Must never: change the local authorization list, or send a token's data anywhere but in
NotifyCustomerInformation.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp_bridge.ocpp.auth_store import AuthStore
from ocpp_bridge.ocpp.station import StationCore
from ocpp_bridge.ocpp.timefmt import iso
from ocpp_bridge.ocpp.v201.authorization import token_key
from ocpp_bridge.ocpp.v201.transactions import TransactionBlock

log = logging.getLogger("ocpp_bridge.ocpp.v201")

DATA_MAX = 512  # NotifyCustomerInformationRequest.data
NOTHING_FOUND = "No customer information found"


def chunks(text: str, size: int = DATA_MAX) -> list[str]:
    """``text`` cut into pieces of at most ``size`` characters (one empty-text piece for '')."""
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class CustomerInformationBlock:
    def __init__(self, core: StationCore, store: AuthStore, transactions: TransactionBlock) -> None:
        self.core = core
        self.store = store
        self.transactions = transactions
        core.handle("CustomerInformation", self._on_request)

    def _on_request(self, payload: dict[str, Any]) -> dict[str, Any]:
        report, clear = bool(payload.get("report")), bool(payload.get("clear"))
        token = payload.get("idToken")
        if not report and not clear:
            log.warning("CustomerInformation %s: neither report nor clear: Rejected", payload["requestId"])
            return {"status": "Rejected"}
        if token is None and payload.get("customerIdentifier") is None and payload.get("customerCertificate") is None:
            log.warning("CustomerInformation %s: no customer referred to: Invalid", payload["requestId"])
            return {"status": "Invalid"}
        found = self._find(token) if token is not None else []
        cleared = self._clear(token) if clear and token is not None else []
        if report:
            text = "; ".join(found) if found else NOTHING_FOUND
        else:
            text = ("Cleared: " + "; ".join(cleared)) if cleared else NOTHING_FOUND
        log.info("CustomerInformation %s (report=%s clear=%s): %d item(s) found, %d cleared",
                 payload["requestId"], report, clear, len(found), len(cleared))
        self._notify(payload["requestId"], text)  # queued: they go after the answer
        return {"status": "Accepted"}

    def _find(self, token: dict[str, Any]) -> list[str]:
        key = token_key(token)
        label = f"idToken {token['idToken']} ({token['type']})"
        found = []
        listed = self.store.list_get(key)
        if listed is not None:
            found.append(f"{label}: local authorization list entry, status {listed.get('status', 'unknown')}")
        cached = self.store.cache_get(key)
        if cached is not None:
            found.append(f"{label}: authorization cache entry, status {cached.info.get('status', 'unknown')}")
        for tx in self.transactions.holding_token(token):
            found.append(f"{label}: transaction {tx.transaction_id} on EVSE {tx.evse}")
        return found

    def _clear(self, token: dict[str, Any]) -> list[str]:
        key = token_key(token)
        cleared = []
        if self.store.cache_get(key) is not None:
            self.store.cache_remove(key)
            cleared.append("authorization cache entry")
        count = self.transactions.forget_token(token)
        if count:
            cleared.append(f"idToken in {count} stored transaction(s)")
        return cleared

    def _notify(self, request_id: int, text: str) -> None:
        pieces = chunks(text)
        for seq_no, piece in enumerate(pieces):
            self.core.call("NotifyCustomerInformation", {
                "data": piece, "tbc": seq_no < len(pieces) - 1, "seqNo": seq_no,
                "generatedAt": iso(self.core.now), "requestId": request_id})
