//! The format of JWT access tokens, RFC 9068: `typ: at+jwt`, `iss sub aud exp iat jti client_id scope`
//! plus `roles`. Verification binds the algorithm to the `kid` (RFC 8725 §3.1),
//! requires `exp iat iss sub`, honours `nbf`, and takes `now` as a parameter.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, decode_header, encode, Header, Validation};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

pub use crate::domain::Audience;

use super::KeyRing;

/// The `client_id` of tokens Trident issues to its own users through
/// `/api/v1/auth/token` (RFC 9068 §2.2 requires the claim on every access token).
/// Registered clients get generated ids with their own prefix, so this cannot collide.
pub const FIRST_PARTY_CLIENT_ID: &str = "trident";
/// Accepted clock skew between nodes, in seconds.
pub const LEEWAY_SECS: i64 = 10;
/// Longest token we will even try to parse.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
const TYP: &str = "at+jwt";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    pub client_id: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// The user's name, on user session tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The refresh-token family (login session) a user session token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The client's token generation at issuance, on M2M tokens: disabling the
    /// client or leaking a secret raises it, and older tokens stop working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's typ is not at+jwt")]
    WrongType,
    /// RFC 7515 §4.1.11: a `crit` list (or a parameter that needs one) names an
    /// extension we do not implement; also headers that carry or point at keys.
    #[error("the token's header has parameters Trident does not accept: {0}")]
    UnsupportedHeader(&'static str),
    #[error("the token names no key we publish")]
    UnknownKey,
    #[error("the token's algorithm is not the one bound to its key")]
    AlgorithmMismatch,
    #[error("the token's signature or claims are invalid")]
    Invalid,
    #[error("the token was issued by someone else")]
    WrongIssuer,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Signs `claims` with the active key.
pub fn sign(keys: &KeyRing, claims: &AccessTokenClaims) -> anyhow::Result<String> {
    let signer = keys.signer();
    let mut header = Header::new(signer.algorithm.jwt_algorithm());
    header.typ = Some(TYP.to_owned());
    header.kid = Some(signer.kid.clone());
    encode(&header, claims, &signer.encoding)
        .map_err(|e| anyhow::anyhow!("signing an access token: {e}"))
}

/// Verifies signature and registered claims; what the token stands for is the caller's to check.
pub async fn verify(
    keys: &KeyRing,
    db: &impl ConnectionTrait,
    token: &str,
    issuer: &str,
    now: DateTime<Utc>,
) -> Result<AccessTokenClaims, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    check_header_parameters(token)?;
    // decode_header refuses `alg: none` and every name outside jsonwebtoken's list.
    let header = decode_header(token).map_err(|_| JwtError::Malformed)?;
    let typ_ok = header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case(TYP) || t.eq_ignore_ascii_case("application/at+jwt")
    });
    if !typ_ok {
        return Err(JwtError::WrongType);
    }
    let kid = header.kid.as_deref().ok_or(JwtError::UnknownKey)?;
    let key = keys
        .verification_key(db, kid, now)
        .await?
        .ok_or(JwtError::UnknownKey)?;
    if header.alg != key.algorithm.jwt_algorithm() {
        return Err(JwtError::AlgorithmMismatch);
    }
    let mut validation = Validation::new(key.algorithm.jwt_algorithm());
    // Time and audience are checked below against our own clock and rules.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
    let claims = decode::<AccessTokenClaims>(token, &key.decoding, &validation)
        .map_err(|_| JwtError::Invalid)?
        .claims;
    check_registered_claims(&claims, issuer, now.timestamp())?;
    Ok(claims)
}

/// Header parameters a token may not carry. jsonwebtoken's `Header` ignores
/// members it does not know, so the raw header is read here:
/// - `crit` (RFC 7515 §4.1.11): "the recipient MUST reject" a token whose
///   critical extensions it does not understand, and Trident understands none;
/// - `b64` (RFC 7797) changes what is signed and is only valid under `crit`;
/// - `zip` compresses JWE payloads and has no place in a JWS;
/// - `jwk`, `jku`, `x5u`, `x5c`, `x5t`, `x5t#S256`: keys or pointers to keys.
///   Trident verifies by `kid` against its own keys only, and never issues these,
///   so a token carrying one was not made by Trident.
const REFUSED_HEADER_PARAMETERS: &[&str] = &[
    "crit", "b64", "zip", "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256",
];

fn check_header_parameters(token: &str) -> Result<(), JwtError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let segment = token.split('.').next().ok_or(JwtError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Malformed)?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    match REFUSED_HEADER_PARAMETERS
        .iter()
        .find(|name| header.contains_key(**name))
    {
        Some(name) => Err(JwtError::UnsupportedHeader(name)),
        None => Ok(()),
    }
}

fn check_registered_claims(
    claims: &AccessTokenClaims,
    issuer: &str,
    now: i64,
) -> Result<(), JwtError> {
    if claims.iss != issuer {
        return Err(JwtError::WrongIssuer);
    }
    if claims.exp <= now - LEEWAY_SECS {
        return Err(JwtError::Expired);
    }
    let starts = claims.nbf.unwrap_or(claims.iat);
    if starts > now + LEEWAY_SECS || claims.iat > now + LEEWAY_SECS {
        return Err(JwtError::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(iat: i64, exp: i64, nbf: Option<i64>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://trident.test".into(),
            sub: "u".into(),
            aud: Audience::One("https://trident.test".into()),
            exp,
            iat,
            nbf,
            jti: "j".into(),
            client_id: "trident".into(),
            scope: String::new(),
            roles: vec![],
            username: None,
            sid: None,
            gen: None,
        }
    }

    #[test]
    fn registered_claims_are_checked_against_the_given_clock() {
        let now = 1_000_000;
        let iss = "https://trident.test";
        let cases = [
            ("fresh", claims(now, now + 600, None), true),
            (
                "expired beyond leeway",
                claims(now - 700, now - LEEWAY_SECS - 1, None),
                false,
            ),
            (
                "expired within leeway",
                claims(now - 700, now - 1, None),
                true,
            ),
            (
                "issued in the future",
                claims(now + 60, now + 600, None),
                false,
            ),
            (
                "nbf in the future",
                claims(now, now + 600, Some(now + 60)),
                false,
            ),
            (
                "nbf within leeway",
                claims(now, now + 600, Some(now + 5)),
                true,
            ),
        ];
        for (name, c, ok) in cases {
            assert_eq!(
                check_registered_claims(&c, iss, now).is_ok(),
                ok,
                "case {name}"
            );
        }
        assert!(matches!(
            check_registered_claims(&claims(now, now + 600, None), "https://evil.test", now),
            Err(JwtError::WrongIssuer)
        ));
    }

    #[test]
    fn audience_is_a_string_or_an_array() {
        let one: Audience = serde_json::from_str("\"a\"").unwrap();
        let many: Audience = serde_json::from_str("[\"a\",\"b\"]").unwrap();
        assert!(one.contains("a") && many.contains("b") && !many.contains("c"));
    }
}
