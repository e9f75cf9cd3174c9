//! A credential as recognised from its format alone, before any I/O: one of
//! Trident's opaque secrets (its prefix and checksum say which kind), or a JWT.

use super::access_tokens::MAX_TOKEN_LEN;
use crate::secret::{OpaqueSecret, SecretKind};

#[derive(Debug)]
pub enum PresentedCredential {
    /// A JWT access token (three base64url segments).
    AccessToken(String),
    /// One of Trident's opaque secrets.
    Opaque(OpaqueSecret),
}

impl PresentedCredential {
    /// Recognises a bearer credential; `None` when it cannot be any Trident credential.
    pub fn recognize(token: &str) -> Option<Self> {
        if let Some(secret) = OpaqueSecret::parse(token) {
            return Some(Self::Opaque(secret));
        }
        let looks_like_jwt = token.len() <= MAX_TOKEN_LEN
            && token.split('.').count() == 3
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        looks_like_jwt.then(|| Self::AccessToken(token.to_owned()))
    }

    /// The metric labels of a presented credential, known from its format:
    /// its kind and environment (`""`: none).
    pub fn labels(&self) -> (&'static str, &'static str) {
        match self {
            PresentedCredential::AccessToken(_) => ("access_token", ""),
            PresentedCredential::Opaque(secret) => match secret.kind() {
                SecretKind::LiveApiKey => ("api_key", "live"),
                SecretKind::TestApiKey => ("api_key", "test"),
                SecretKind::PersonalAccessToken => ("personal_access_token", ""),
                SecretKind::ClientSecret => ("client_secret", ""),
                SecretKind::RefreshToken => ("refresh_token", ""),
                SecretKind::BrowserSession => ("browser_session", ""),
            },
        }
    }

    /// The credential as it was presented (for the cache key, which digests it).
    pub fn text(&self) -> &str {
        match self {
            PresentedCredential::AccessToken(token) => token,
            PresentedCredential::Opaque(secret) => secret.reveal(),
        }
    }
}

/// What a request's authentication headers present, read by the HTTP layer's
/// one parser (`Authorization` or `X-API-Key`, never both) before any I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentedCaller<'a> {
    /// Neither header (a browser may still carry its session cookie).
    Nothing,
    /// `Authorization: Basic …`: a client's id and secret (RFC 6749 §2.3.1), as sent.
    Basic(&'a str),
    /// A bearer credential (`Bearer` or `Api-Key` scheme, or `X-API-Key`), as text.
    Bearer(&'a str),
    /// Another scheme, or an `Authorization` value with no scheme.
    Unsupported,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_told_apart_by_format() {
        let pat = OpaqueSecret::generate(SecretKind::PersonalAccessToken);
        assert!(matches!(
            PresentedCredential::recognize(pat.reveal()),
            Some(PresentedCredential::Opaque(_))
        ));
        assert!(matches!(
            PresentedCredential::recognize("eyJ.eyJ.sig"),
            Some(PresentedCredential::AccessToken(_))
        ));
        for junk in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "a b.c.d",
            "tri_pat_short",
            "eyJ.eyJ.s\u{0}g",
        ] {
            assert!(PresentedCredential::recognize(junk).is_none(), "{junk:?}");
        }
    }
}
