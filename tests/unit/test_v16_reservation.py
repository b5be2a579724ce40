"""OCPP 1.6 reservations and who may use them (TC_046_2, TC_053): the reserved idTag, or an idTag
whose parentIdTag (from Authorize, the local list or the cache) is the reservation's; another idTag
is refused on the reserved connector (validate_token's evse_ids, RemoteStartTransaction).
Pure charge point, scripted CSMS, fake EVSE port, fake clock."""

from ocpp_bridge.ocpp.evse_events import IdToken
from support.cp16 import Rig

EXPIRY = "2026-01-01T01:00:00Z"


def reserve(rig, connector=1, rid=1, tag="OWNER", parent=None):
    payload = {"connectorId": connector, "expiryDate": EXPIRY, "idTag": tag, "reservationId": rid}
    if parent is not None:
        payload["parentIdTag"] = parent
    return rig.request("ReserveNow", payload)


def parents(rig, **by_tag):
    """The CSMS answers Authorize with the given parentIdTag per idTag (None: no parent)."""
    def answer(p):
        info = {"status": "Accepted"}
        if by_tag.get(p["idTag"]):
            info["parentIdTag"] = by_tag[p["idTag"]]
        return {"idTagInfo": info}
    rig.answers["Authorize"] = answer


def validate(rig, tag):
    result = rig.cp.validate_token(IdToken(tag))
    rig.pump_answers()
    assert result.done
    return result.value


def provided(rig):
    return [c[1:] for c in rig.port.calls if c[0] == "provide_token"]


def test_tc_053_an_idtag_with_the_reservations_parent_uses_it(tmp_path):
    rig = Rig(tmp_path).boot()
    parents(rig, CHILD="FAMILY")
    assert reserve(rig, 1, 7, parent="FAMILY") == {"status": "Accepted"}
    result = validate(rig, "CHILD")
    assert result == {"status": "Accepted", "parent_id_token": "FAMILY"}  # no EVSE excluded
    s = rig.plug_in(1)
    rig.start_tx(1, s, id_tag="CHILD")  # the EVSE does not say which reservation it used
    assert rig.calls("StartTransaction")[-1]["reservationId"] == 7
    assert rig.cp.blocks.reservation.on_evse(1) is None


def test_tc_053_another_idtag_is_not_valid_on_the_reserved_connector(tmp_path):
    rig = Rig(tmp_path).boot()
    parents(rig, STRANGER="OTHERS")
    reserve(rig, 1, 7, parent="FAMILY")
    assert validate(rig, "STRANGER") == {"status": "Accepted", "parent_id_token": "OTHERS", "evse_ids": [2]}
    assert validate(rig, "NOPARENT") == {"status": "Accepted", "evse_ids": [2]}
    assert validate(rig, "owner") == {"status": "Accepted"}  # the reserved idTag, any case
    s = rig.plug_in(1)
    rig.start_tx(1, s, id_tag="STRANGER")
    assert "reservationId" not in rig.calls("StartTransaction")[-1]
    assert rig.cp.blocks.reservation.on_evse(1) is not None


def test_a_reservation_without_parent_is_for_its_idtag_only(tmp_path):
    rig = Rig(tmp_path).boot()
    parents(rig, CHILD="FAMILY")
    reserve(rig, 2, 3)
    assert validate(rig, "CHILD") == {"status": "Accepted", "parent_id_token": "FAMILY", "evse_ids": [1]}
    rig.answers["Authorize"] = {"idTagInfo": {"status": "Invalid"}}
    assert validate(rig, "BAD") == {"status": "Invalid"}  # not accepted: nothing to narrow


def test_the_parent_comes_from_the_local_list_or_the_cache(tmp_path):
    rig = Rig(tmp_path, overrides={"LocalPreAuthorize": True}).boot()
    listed = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "LISTED", "idTagInfo": {"status": "Accepted", "parentIdTag": "FAMILY"}}]}
    assert rig.request("SendLocalList", listed) == {"status": "Accepted"}
    reserve(rig, 1, 4, parent="FAMILY")
    n = len(rig.calls("Authorize"))
    s = rig.plug_in(1)
    rig.start_tx(1, s, id_tag="LISTED")  # never asked the CSMS: the list knows the parent
    assert len(rig.calls("Authorize")) == n
    assert rig.calls("StartTransaction")[-1]["reservationId"] == 4


def test_tc_046_2_remote_start_for_another_idtag_on_a_reserved_connector_is_rejected(tmp_path):
    rig = Rig(tmp_path).boot()
    reserve(rig, 1, 5, tag="OWNER")
    assert rig.request("RemoteStartTransaction", {"idTag": "OTHER", "connectorId": 1}) == {"status": "Rejected"}
    assert provided(rig) == []
    assert rig.request("RemoteStartTransaction", {"idTag": "OWNER", "connectorId": 1}) == {"status": "Accepted"}
    assert provided(rig) == [(IdToken("OWNER", "Central"), [1], True)]
    # without connectorId: the reserved connector is left out
    assert rig.request("RemoteStartTransaction", {"idTag": "OTHER"}) == {"status": "Accepted"}
    assert provided(rig)[-1] == (IdToken("OTHER", "Central"), [2], True)


def test_remote_start_with_the_reservations_parent(tmp_path):
    rig = Rig(tmp_path, evse_count=1).boot()
    parents(rig, KNOWN="FAMILY", ALIEN="ELSE")
    reserve(rig, 1, 5, parent="FAMILY")
    validate(rig, "KNOWN")
    validate(rig, "ALIEN")
    assert rig.request("RemoteStartTransaction", {"idTag": "KNOWN", "connectorId": 1}) == {"status": "Accepted"}
    assert provided(rig)[-1] == (IdToken("KNOWN", "Central"), [1], True)
    assert rig.request("RemoteStartTransaction", {"idTag": "ALIEN", "connectorId": 1}) == {"status": "Rejected"}
    # parent not known yet: accepted, but the Auth module must validate it (Authorize tells the parent)
    assert rig.request("RemoteStartTransaction", {"idTag": "NEW", "connectorId": 1}) == {"status": "Accepted"}
    assert provided(rig)[-1] == (IdToken("NEW", "Central"), [1], False)
    assert rig.request("RemoteStartTransaction", {"idTag": "OTHER"}) == {"status": "Accepted"}
    assert provided(rig)[-1] == (IdToken("OTHER", "Central"), [1], False)


def test_remote_start_everywhere_reserved_for_others_is_rejected(tmp_path):
    rig = Rig(tmp_path).boot()
    reserve(rig, 1, 1, tag="A")
    reserve(rig, 2, 2, tag="B")
    assert rig.request("RemoteStartTransaction", {"idTag": "C"}) == {"status": "Rejected"}
    assert provided(rig) == []


def test_a_reservation_moved_to_another_connector_is_cancelled_before_the_new_one(tmp_path):
    # the reservation module cancels by reservationId: cancelling after the new one would cancel that
    rig = Rig(tmp_path).boot()
    reserve(rig, 1, 5)
    assert reserve(rig, 2, 5) == {"status": "Accepted"}
    assert [c for c in rig.port.calls if c[0] in ("reserve", "cancel_reservation")] == [
        ("reserve", 1, 5), ("cancel_reservation", 1), ("reserve", 2, 5)]
    assert rig.cp.blocks.reservation.on_evse(1) is None and rig.cp.blocks.reservation.on_evse(2).id == 5
