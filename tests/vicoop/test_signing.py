"""Signed commands, pure: what the RSU's verifier accepts and refuses, and key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from vicoop import codec_cloud
from vicoop.cloudmodel import Command, DeleteZone
from vicoop.errors import CodecError, ConfigError
from vicoop.signing import (
    CommandRefused,
    CommandSigner,
    CommandVerifier,
    load_private_key,
    load_public_key,
    write_key_pair,
)

S = 1_000_000_000
NOW = 1_800_000_000 * S
COMMAND = codec_cloud.encode_command(Command("c-1", 2, NOW, DeleteZone("z-1", 2)))


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, tuple[CommandSigner, object]]:
    out = {}
    for key_id in ("twin-1", "twin-2"):
        private, public = tmp_path / f"{key_id}.pem", tmp_path / f"{key_id}.pub.pem"
        write_key_pair(private, public)
        assert private.stat().st_mode & 0o077 == 0
        out[key_id] = (
            CommandSigner(load_private_key(private, "key"), key_id),
            load_public_key(public, "key"),
        )
    return out


def refusal(verifier: CommandVerifier, payload: bytes, now: int = NOW) -> str | None:
    try:
        verifier.open(codec_cloud.decode_signed_command(payload), now)
    except CommandRefused as exc:
        return exc.reason
    return None


def test_a_command_signed_for_this_rsu_recently_opens(keys: dict) -> None:  # type: ignore[type-arg]
    signer, public = keys["twin-1"]
    verifier = CommandVerifier("rsu-a", {"twin-1": public})
    payload = codec_cloud.encode_signed_command(signer.sign("rsu-a", COMMAND, NOW))
    assert verifier.open(codec_cloud.decode_signed_command(payload), NOW + 59 * S) == COMMAND


def test_forged_replayed_and_misdirected_commands_are_refused(keys: dict) -> None:  # type: ignore[type-arg]
    signer, public = keys["twin-1"]
    other, _ = keys["twin-2"]
    verifier = CommandVerifier("rsu-a", {"twin-1": public}, max_age_s=60, max_future_s=5)
    signed = signer.sign("rsu-a", COMMAND, NOW)
    assert refusal(verifier, codec_cloud.encode_signed_command(signed), NOW + 61 * S) == "stale"
    assert refusal(verifier, codec_cloud.encode_signed_command(signed), NOW - 6 * S) == "future"
    for_b = codec_cloud.encode_signed_command(signer.sign("rsu-b", COMMAND, NOW))
    assert refusal(verifier, for_b) == "wrong_rsu"
    unknown = codec_cloud.encode_signed_command(other.sign("rsu-a", COMMAND, NOW))
    assert refusal(verifier, unknown) == "unknown_key"
    # Another key under the trusted key id: the signature does not verify.
    impostor = CommandSigner(other.key, "twin-1")
    assert (
        refusal(verifier, codec_cloud.encode_signed_command(impostor.sign("rsu-a", COMMAND, NOW)))
        == "bad_signature"
    )
    # The command altered after signing (a higher version slipped in).
    altered = codec_cloud.encode_command(Command("c-1", 9, NOW, DeleteZone("z-1", 9)))
    tampered = type(signed)(
        signed.rsu_id, signed.sent_at_ns, altered, signed.key_id, signed.signature
    )
    assert refusal(verifier, codec_cloud.encode_signed_command(tampered)) == "bad_signature"


def test_a_bare_command_is_not_a_signed_one() -> None:
    with pytest.raises(
        CodecError, match=r"^signed_command\.signature (is missing|must be 64 bytes)"
    ):
        codec_cloud.decode_signed_command(COMMAND)


def test_key_rotation_accepts_both_keys_then_only_the_new_one(keys: dict) -> None:  # type: ignore[type-arg]
    (old, old_public), (new, new_public) = keys["twin-1"], keys["twin-2"]
    during = CommandVerifier("rsu-a", {"twin-1": old_public, "twin-2": new_public})
    after = CommandVerifier("rsu-a", {"twin-2": new_public})
    by_old = codec_cloud.encode_signed_command(old.sign("rsu-a", COMMAND, NOW))
    by_new = codec_cloud.encode_signed_command(new.sign("rsu-a", COMMAND, NOW))
    assert refusal(during, by_old) is None and refusal(during, by_new) is None
    assert refusal(after, by_new) is None
    assert refusal(after, by_old) == "unknown_key"


def test_bad_key_files_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^cloud\.command_keys\[0\]: cannot read"):
        load_public_key(tmp_path / "missing.pem", "cloud.command_keys[0]")
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(ConfigError, match="is not a PEM public key"):
        load_public_key(tmp_path / "junk.pem", "k")
    with pytest.raises(ConfigError, match="is not an unencrypted PEM private key"):
        load_private_key(tmp_path / "junk.pem", "k")
