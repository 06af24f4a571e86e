//! The pieces of the vendors' webhook schemes: HMAC checks (ring's `hmac::verify` compares
//! in constant time; ring is already in the tree for rustls), a constant-time comparison of
//! static tokens, and the signed timestamp's tolerance.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use subtle::ConstantTimeEq;

/// Whether `signature_hex` is the hex HMAC-SHA256 of `parts` (concatenated) under `key`.
pub fn hmac_sha256_hex_ok(key: &[u8], parts: &[&[u8]], signature_hex: &str) -> bool {
    let Ok(expected) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        &parts.concat(),
        &expected,
    )
    .is_ok()
}

/// Whether `signature_b64` is the base64 HMAC-SHA512 of `body` under `key`.
pub fn hmac_sha512_base64_ok(key: &[u8], body: &[u8], signature_b64: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA512, key), body, &expected).is_ok()
}

/// The hex HMAC-SHA256 of `parts` under `key` (what a sender puts in its signature header).
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), &parts.concat()).as_ref())
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn tokens_equal(presented: &str, expected: &str) -> bool {
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// A signed timestamp header: Unix seconds, or an RFC 3339 instant.
pub fn parse_timestamp(text: &str) -> Option<jiff::Timestamp> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return jiff::Timestamp::from_second(secs).ok();
    }
    text.parse::<jiff::Timestamp>().ok()
}

/// Seconds from `signed` to `now` (negative when signed in the future).
pub fn age_secs(signed: jiff::Timestamp, now: jiff::Timestamp) -> i64 {
    now.duration_since(signed).as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_checks_match_published_test_vectors() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let data: &[u8] = b"what do ya want for nothing?";
        let sha256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(hmac_sha256_hex_ok(
            b"Jefe",
            &[&data[..9], &data[9..]],
            sha256
        ));
        assert!(!hmac_sha256_hex_ok(b"Jefe", &[b"what do ya want"], sha256));
        let sha512 = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737";
        let b64 = STANDARD.encode(hex::decode(sha512).unwrap());
        assert!(hmac_sha512_base64_ok(b"Jefe", data, &b64));
        assert!(!hmac_sha512_base64_ok(b"Jeff", data, &b64));
        assert!(!hmac_sha512_base64_ok(b"Jefe", data, "not base64!"));
    }

    #[test]
    fn timestamps_in_seconds_or_rfc3339() {
        let t = parse_timestamp("1767225600").unwrap();
        assert_eq!(t, parse_timestamp("2026-01-01T00:00:00Z").unwrap());
        assert_eq!(parse_timestamp("yesterday"), None);
        assert!(
            tokens_equal("abc", "abc") && !tokens_equal("abc", "abd") && !tokens_equal("ab", "abc")
        );
    }
}
