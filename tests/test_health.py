"""The health endpoint."""

from fastapi.testclient import TestClient


def test_health_reports_database_and_active_sessions(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["active_sessions"] == 0
