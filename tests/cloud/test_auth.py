"""The API's credentials, pure: hashed tokens, feed tokens, the failure limit; and the guard
reads no body of a request it refuses."""

from __future__ import annotations

import pytest
from starlette.types import Message, Receive, Scope, Send

from cloud.auth import FailureLimit, FeedTokens, Holder, TokenBook, token_digest
from cloud.guard import ApiGuard

S = 1_000_000_000
ADA = Holder("ada", "admin")


def test_a_token_book_finds_holders_by_digest_only() -> None:
    book = TokenBook(
        [(token_digest("a" * 20), ADA), (token_digest("b" * 20), Holder("b", "viewer"))]
    )
    assert book.find("a" * 20) == ADA
    assert book.find("b" * 20) == Holder("b", "viewer")
    assert book.find("a" * 19) is None
    assert book.find("") is None
    assert "a" * 20 not in repr(vars(book))


def test_feed_tokens_expire_and_refuse_tampering_and_other_keys() -> None:
    tokens = FeedTokens(ttl_s=60.0, key=b"k" * 32)
    token, expires = tokens.issue(ADA, now_ns=100 * S)
    assert expires == 160 * S
    assert tokens.check(token, 159 * S) == ADA
    assert tokens.check(token, 160 * S) is None
    body, _, mac = token.partition(".")
    assert tokens.check(body + "." + mac[::-1], 100 * S) is None
    assert tokens.check("no-dot", 100 * S) is None
    assert tokens.check("!!!.???", 100 * S) is None
    assert FeedTokens(key=b"x" * 32).check(token, 100 * S) is None


def test_the_failure_limit_blocks_past_its_count_and_forgets_with_the_window() -> None:
    limit = FailureLimit(max_failures=3, window_s=60.0)
    for k in range(3):
        assert not limit.blocked("10.0.0.9", k * S)
        limit.failed("10.0.0.9", k * S)
    assert limit.blocked("10.0.0.9", 3 * S)
    assert not limit.blocked("10.0.0.8", 3 * S)  # per address
    assert limit.blocked("10.0.0.9", 60 * S - 1)
    assert not limit.blocked("10.0.0.9", 61 * S)  # the first failures left the window


def test_the_failure_limit_remembers_a_bounded_number_of_addresses() -> None:
    limit = FailureLimit(max_failures=1, window_s=60.0, max_clients=100)
    for k in range(1000):
        limit.failed(f"10.0.{k // 256}.{k % 256}", S)
    assert len(limit._failures) == 100


@pytest.mark.parametrize("path", ["/api/v1/zones", "/metrics"])
async def test_the_guard_answers_an_unauthenticated_request_without_reading_its_body(
    path: str,
) -> None:
    reached: list[str] = []
    received: list[Message] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["path"])

    async def receive() -> Message:
        message: Message = {"type": "http.request", "body": b"x" * 1000, "more_body": True}
        received.append(message)
        return message

    async def send(message: Message) -> None:
        sent.append(message)

    guard = ApiGuard(
        app,
        tokens=TokenBook([(token_digest("a" * 20), ADA)]),
        feed_tokens=FeedTokens(),
        failures=FailureLimit(),
        clock=lambda: 0,
    )
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-length", b"42000000")],
        "query_string": b"",
        "client": ("192.0.2.1", 5555),
    }
    await guard(scope, receive, send)
    assert reached == [] and received == []
    assert sent[0]["status"] == 401
    assert guard.refused["unauthenticated"] == 1
