import pytest


@pytest.fixture(autouse=True)
def _no_real_model_requests(monkeypatch):
    """Tests never reach a real hosted model; loopback tests opt back in explicitly."""
    monkeypatch.setenv("AGENTCO_ALLOW_MODEL_REQUESTS", "0")


from wire_server import wire_server  # noqa: E402,F401  (the loopback model server fixture, for any test)
