from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_reports_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert body["database"]["up_to_date"] is True
    assert body["database"]["revision"] == body["database"]["head"]


def test_security_headers_on_every_response(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
