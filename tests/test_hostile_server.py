"""Against a running classroom server: a closed tab's session id, presented on a raw websocket as Streamlit's
frontend does when it reconnects, reattaches during a network blip only, never once the tab has been gone
for the grace (issue 20, break 6)."""

import time

import pytest

from tests.conftest import running_app

pytestmark = pytest.mark.browser  # needs a real server, like the browser tests


def _session(url: str, existing: str = "") -> str:
    """Connects as the frontend does (the third subprotocol entry names a session to resume), asks for a run,
    waits for it to end, and returns the id of the session the server attached this connection to."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    protocols = ["streamlit", "xsrf", existing] if existing else ["streamlit"]
    from websockets.sync.client import connect  # sync: Playwright's loop may be running in this thread

    with connect(url.replace("http", "ws") + "/_stcore/stream", subprotocols=protocols, max_size=2**26) as socket:
        back = BackMsg()
        back.rerun_script.query_string = ""
        socket.send(back.SerializeToString())
        served = ""
        while True:
            message = ForwardMsg()
            message.ParseFromString(socket.recv(timeout=180))
            if message.WhichOneof("type") == "new_session":
                served = message.new_session.initialize.session_id
            if message.WhichOneof("type") == "script_finished" and served:
                return served


def test_a_closed_tabs_session_cannot_be_taken_over(tmp_path):
    from ui.session import CHECK_EVERY_S, CLOSED_GRACE_S

    with running_app(tmp_path, {"TRANSFER_LAB_MODE": "classroom"}) as url:
        owner = _session(url)
        assert _session(url, owner) == owner  # a blip: the owner's tab reconnects
        time.sleep(CLOSED_GRACE_S + 2 * CHECK_EVERY_S)
        intruder = _session(url, owner)
        assert intruder and intruder != owner
        assert "Ignoring reconnect to logged-out session id" in (tmp_path / "server.log").read_text()
