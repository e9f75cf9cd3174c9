//! Anti-forgery tokens: derived from the secret of the cookie they protect, so
//! a page's forms carry a token only that browser's cookie matches.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// The anti-forgery token that belongs to a cookie's secret.
pub fn csrf_token(cookie_secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"trident csrf\0");
    hasher.update(cookie_secret.as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// Whether `presented` is the anti-forgery token of `cookie_secret` (constant time).
pub fn verify_csrf(cookie_secret: &str, presented: &str) -> bool {
    csrf_token(cookie_secret)
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{OpaqueSecret, SecretKind};

    #[test]
    fn csrf_tokens_belong_to_one_cookie() {
        let a = OpaqueSecret::generate(SecretKind::BrowserSession);
        let b = OpaqueSecret::generate(SecretKind::BrowserSession);
        let token = csrf_token(a.reveal());
        assert!(verify_csrf(a.reveal(), &token));
        assert!(!verify_csrf(b.reveal(), &token), "another session's token");
        assert!(!verify_csrf(a.reveal(), ""), "no token");
        assert!(!verify_csrf(a.reveal(), &token[1..]), "truncated token");
        assert_ne!(token, a.reveal(), "the token is not the secret");
    }
}
