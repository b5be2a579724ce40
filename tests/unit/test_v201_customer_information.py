"""OCPP 2.0.1 CustomerInformation (N09 get / N10 clear) on the pure core: what is reported and
cleared of an idToken (local list entry, cache entry, stored transactions), the statuses, and the
NotifyCustomerInformation messages. Scripted CSMS, fake clock."""

from v201_harness import Sim, full_session_start

from ocpp_bridge.ocpp.evse_events import IdToken
from ocpp_bridge.ocpp.v201.customer_information import DATA_MAX, NOTHING_FOUND, chunks

TAG = {"idToken": "TAG1", "type": "ISO14443"}
PRE = {"AuthCtrlr": {"LocalPreAuthorize": True}}


def ask(sim: Sim, *, report: bool = True, clear: bool = False, request_id: int = 5, **reference):
    """The CustomerInformationResponse and the NotifyCustomerInformation messages it brought."""
    before = len(sim.payloads("NotifyCustomerInformation"))
    reply = sim.request("CustomerInformation", {"requestId": request_id, "report": report, "clear": clear,
                                                **reference})
    return reply, sim.payloads("NotifyCustomerInformation")[before:]


def text(messages: list[dict]) -> str:
    return "".join(m["data"] for m in messages)


def cache_token(sim: Sim, value: str = "TAG1") -> None:
    d = sim.cp.validate_token(IdToken(value))
    sim.settle()
    assert d.done and d.value["status"] == "Accepted"


def list_token(sim: Sim, value: str = "TAG1") -> None:
    items = [{"idToken": {"idToken": value, "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}]
    assert sim.request("SendLocalList", {"versionNumber": 1, "updateType": "Full",
                                         "localAuthorizationList": items})["status"] == "Accepted"


def test_n09_fr_06_nothing_stored_reports_that_no_data_was_found(tmp_path):
    sim = Sim(tmp_path)
    reply, msgs = ask(sim, idToken=TAG)
    assert reply == {"status": "Accepted"}
    assert msgs == [{"data": NOTHING_FOUND, "tbc": False, "seqNo": 0, "generatedAt": msgs[0]["generatedAt"],
                     "requestId": 5}]


def test_n09_fr_05_reports_list_cache_and_transaction_of_the_token(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    list_token(sim, "OTHER")
    cache_token(sim)
    list_token(sim)
    full_session_start(sim, 1, "s1", "TAG1")
    reply, msgs = ask(sim, idToken={"idToken": "tag1", "type": "ISO14443"})   # CiString: case-insensitive
    assert reply == {"status": "Accepted"}
    data = text(msgs)
    assert "local authorization list entry" in data and "authorization cache entry" in data
    assert "transaction s1 on EVSE 1" in data
    assert "OTHER" not in data


def test_n09_fr_07_neither_report_nor_clear_is_rejected(tmp_path):
    sim = Sim(tmp_path)
    reply, msgs = ask(sim, report=False, clear=False, idToken=TAG)
    assert reply == {"status": "Rejected"} and msgs == []


def test_no_reference_to_a_customer_is_invalid(tmp_path):
    sim = Sim(tmp_path)
    reply, msgs = ask(sim)
    assert reply == {"status": "Invalid"} and msgs == []


def test_customer_identifier_and_certificate_refer_to_nothing_here(tmp_path):
    sim = Sim(tmp_path)
    assert text(ask(sim, customerIdentifier="cust-1")[1]) == NOTHING_FOUND
    certificate = {"hashAlgorithm": "SHA256", "issuerNameHash": "a" * 64, "issuerKeyHash": "b" * 64,
                   "serialNumber": "01"}
    assert text(ask(sim, customerCertificate=certificate)[1]) == NOTHING_FOUND


def test_n10_fr_06_clear_without_report_clears_cache_and_transactions_but_not_the_list(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    cache_token(sim)
    list_token(sim)
    full_session_start(sim, 1, "s1", "TAG1")
    reply, msgs = ask(sim, report=False, clear=True, idToken=TAG)
    assert reply == {"status": "Accepted"}
    assert len(msgs) == 1 and msgs[0]["data"].startswith("Cleared:")
    assert "authorization cache entry" in msgs[0]["data"] and "1 stored transaction" in msgs[0]["data"]
    store = sim.cp.blocks.authorization.store
    assert store.cache_get("ISO14443:TAG1") is None
    assert store.list_get("ISO14443:TAG1") is not None           # N10.FR.03: only the CSMS changes the list
    assert sim.cp.blocks.transactions.holding_token(TAG) == []
    after = text(ask(sim, idToken=TAG)[1])
    assert "cache" not in after and "transaction" not in after and "local authorization list entry" in after


def test_n10_fr_03_clear_and_report_reports_what_was_there(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    cache_token(sim)
    reply, msgs = ask(sim, report=True, clear=True, idToken=TAG)
    assert reply == {"status": "Accepted"}
    assert "authorization cache entry" in text(msgs)
    assert sim.cp.blocks.authorization.store.cache_get("ISO14443:TAG1") is None
    assert text(ask(sim, idToken=TAG)[1]) == NOTHING_FOUND


def test_n10_fr_04_clear_with_nothing_stored(tmp_path):
    sim = Sim(tmp_path)
    reply, msgs = ask(sim, report=True, clear=True, idToken=TAG)
    assert reply == {"status": "Accepted"} and text(msgs) == NOTHING_FOUND


def test_a_cleared_transaction_still_ends_normally_and_survives_a_restart(tmp_path):
    sim = Sim(tmp_path, overrides=PRE)
    full_session_start(sim, 1, "s1", "TAG1")
    ask(sim, report=False, clear=True, idToken=TAG)
    sim.restart()
    sim.connect()
    assert sim.cp.blocks.transactions.holding_token(TAG) == []
    assert sim.cp.blocks.transactions.on_evse(1) is not None


def test_data_is_cut_into_chunks_of_at_most_512_characters():
    long = "x" * (2 * DATA_MAX + 10)
    pieces = chunks(long)
    assert [len(p) for p in pieces] == [DATA_MAX, DATA_MAX, 10] and "".join(pieces) == long
    assert chunks("") == [""]


def test_many_items_page_with_seq_no_and_tbc(tmp_path):
    sim = Sim(tmp_path, overrides=PRE, evse_count=4)
    long_token = {"idToken": "T" * 36, "type": "ISO14443"}
    cache_token(sim, "T" * 36)
    list_token(sim, "T" * 36)
    for evse in (1, 2, 3, 4):
        full_session_start(sim, evse, f"session-{evse}-" + "s" * 20, "T" * 36)
    _, msgs = ask(sim, idToken=long_token, request_id=9)
    assert len(msgs) >= 2 and all(len(m["data"]) <= DATA_MAX for m in msgs)
    assert [m["seqNo"] for m in msgs] == list(range(len(msgs)))
    assert [m["tbc"] for m in msgs] == [True] * (len(msgs) - 1) + [False]
    assert {m["requestId"] for m in msgs} == {9}
