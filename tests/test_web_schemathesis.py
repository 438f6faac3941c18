"""schemathesis against the served OpenAPI schema of a real server: no 5xx for any generated
request, logged in as the admin (widest permissions). Bounded to stay well under a minute."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings

import web_support

server = web_support.server


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """SQLite only: the store backend does not change what this test looks at (the PostgreSQL variant
    runs in test_web_access / test_web_workflow)."""
    c = web_support.make_county("sqlite", tmp_path_factory.mktemp("ws") / "ws")
    yield c
    c.ws.close()


SKIP = {("POST", "/api/v1/auth/logout")}  # would end the session the other cases use
EXAMPLES = 15
BUDGET_S = 35


@pytest.mark.slow
def test_no_server_errors(server, county):
    import schemathesis
    from schemathesis.generation import GenerationMode

    cl = web_support.login(server.url, "admin", county.passwords["admin"])
    headers = {"X-CSRF-Token": cl.headers["X-CSRF-Token"]}
    cookies = dict(cl.cookies)
    schema = schemathesis.openapi.from_url(server.url + "/api/v1/openapi.json")
    ops = []
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) not in SKIP:
            ops.append(op)
    assert len(ops) >= 15
    failures: list[str] = []
    calls = {"n": 0}
    codes: dict[int, int] = {}
    start = time.monotonic()
    for op in ops:
        if time.monotonic() - start > BUDGET_S:
            break
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=op.as_strategy(generation_mode=mode))
            def run(case):
                resp = case.call(base_url=server.url, headers=headers, cookies=cookies, timeout=20)
                calls["n"] += 1
                codes[resp.status_code] = codes.get(resp.status_code, 0) + 1
                if resp.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} → {resp.status_code}: {resp.text[:200]}"
                    )

            try:
                run()
            except Exception as e:  # noqa: BLE001 - unsatisfiable strategies are not server errors
                if "Unsatisfiable" not in type(e).__name__:
                    raise
    assert calls["n"] > 200
    print("schemathesis calls by status:", dict(sorted(codes.items())))
    assert codes.get(200, 0) > 50  # the cases ran logged in, not just against 401s
    assert not failures, failures[:10]
    # the session survived: nothing the fuzzer sent logged the admin out or broke the store
    assert cl.get("/api/v1/me").status_code == 200
