//! What the web UI and the cookie-authenticated API share: the session cookie
//! (HttpOnly, SameSite=Lax, `Secure` and the `__Host-` prefix whenever the issuer
//! is https), the pre-sign-in anti-forgery cookie, and the same-origin check
//! every state-changing browser request must pass besides its CSRF token.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{HeaderMap, HOST, ORIGIN};
use actix_web::HttpRequest;

use crate::config::Settings;
use crate::secret::{OpaqueSecret, SecretKind};

const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// The names of Trident's two browser cookies for this issuer.
#[derive(Clone, Copy)]
pub struct CookieNames {
    pub session: &'static str,
    pub anti_forgery: &'static str,
    secure: bool,
}

impl CookieNames {
    /// `__Host-` cookies must be `Secure`, which browsers accept only over https.
    pub fn for_settings(settings: &Settings) -> Self {
        let secure = settings.issuer.starts_with("https://");
        if secure {
            CookieNames {
                session: "__Host-trident_session",
                anti_forgery: "__Host-trident_csrf",
                secure,
            }
        } else {
            CookieNames {
                session: "trident_session",
                anti_forgery: "trident_csrf",
                secure,
            }
        }
    }

    fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish()
    }

    /// The session cookie; it lives as long as the session does on the server.
    pub fn session_cookie(&self, secret: &OpaqueSecret, max_age_secs: i64) -> Cookie<'static> {
        let mut cookie = self.cookie(self.session, secret.reveal().to_owned());
        cookie.set_max_age(CookieDuration::seconds(max_age_secs));
        cookie
    }

    /// Tells the browser to forget its session cookie.
    pub fn session_removal(&self) -> Cookie<'static> {
        let mut cookie = self.cookie(self.session, String::new());
        cookie.make_removal();
        cookie
    }

    /// A browser-session cookie holding the random value the sign-in and
    /// registration forms' CSRF token is derived from.
    pub fn anti_forgery_cookie(&self, value: String) -> Cookie<'static> {
        self.cookie(self.anti_forgery, value)
    }

    /// The session secret the browser presents, if it is well-formed.
    pub fn session_secret(&self, req: &HttpRequest) -> Option<OpaqueSecret> {
        req.cookie(self.session)
            .and_then(|c| OpaqueSecret::parse(c.value()))
            .filter(|s| s.kind() == SecretKind::BrowserSession)
    }

    pub fn anti_forgery_value(&self, req: &HttpRequest) -> Option<String> {
        req.cookie(self.anti_forgery)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() >= 32 && v.bytes().all(|b| b.is_ascii_alphanumeric()))
    }
}

/// Whether a browser sent this request from one of Trident's own pages.
/// Browsers say so in `Sec-Fetch-Site` (and `Origin` on every POST); a request
/// with neither header comes from no browser of this decade, and still needs
/// its CSRF token.
pub fn is_same_origin(headers: &HeaderMap, issuer: &str) -> bool {
    let fetch_site = headers.get(SEC_FETCH_SITE).map(|v| v.as_bytes());
    if fetch_site.is_some_and(|site| site != b"same-origin") {
        return false;
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    // Under a `no-referrer` policy (a user's own browser setting can impose one),
    // browsers send `Origin: null` even from our own pages; the browser's own
    // fetch metadata then still tells where the request came from.
    if origin.as_bytes() == b"null" && fetch_site.is_some() {
        return true;
    }
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    // The origin the browser addressed (its Host header), under the issuer's scheme,
    // or the issuer itself: an attacker's page can produce neither.
    let scheme = if issuer.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    let addressed = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|host| {
            origin
                .strip_prefix(scheme)?
                .strip_prefix("://")
                .map(|o| o == host)
        })
        .unwrap_or(false);
    addressed || origin == issuer.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn only_requests_from_our_own_pages_pass() {
        let issuer = "http://127.0.0.1:8080";
        type Case = (&'static str, &'static [(&'static str, &'static str)], bool);
        let cases: &[Case] = &[
            ("no browser headers", &[], true),
            (
                "same origin by Host",
                &[
                    ("origin", "http://localhost:8080"),
                    ("host", "localhost:8080"),
                ],
                true,
            ),
            (
                "same origin as the issuer",
                &[("origin", "http://127.0.0.1:8080"), ("host", "proxy")],
                true,
            ),
            (
                "fetch metadata same-origin",
                &[("sec-fetch-site", "same-origin")],
                true,
            ),
            ("cross-site", &[("sec-fetch-site", "cross-site")], false),
            (
                "same-site is not same-origin",
                &[("sec-fetch-site", "same-site")],
                false,
            ),
            (
                "foreign origin",
                &[
                    ("origin", "http://evil.example"),
                    ("host", "127.0.0.1:8080"),
                ],
                false,
            ),
            (
                "opaque origin",
                &[("origin", "null"), ("host", "127.0.0.1:8080")],
                false,
            ),
            (
                "opaque origin from our own page (no-referrer)",
                &[("origin", "null"), ("sec-fetch-site", "same-origin")],
                true,
            ),
            (
                "opaque origin from another site",
                &[("origin", "null"), ("sec-fetch-site", "cross-site")],
                false,
            ),
            (
                "other scheme",
                &[
                    ("origin", "https://127.0.0.1:8080"),
                    ("host", "127.0.0.1:8080"),
                ],
                false,
            ),
            (
                "other port",
                &[
                    ("origin", "http://127.0.0.1:9090"),
                    ("host", "127.0.0.1:8080"),
                ],
                false,
            ),
        ];
        for (name, pairs, expected) in cases {
            assert_eq!(is_same_origin(&headers(pairs), issuer), *expected, "{name}");
        }
    }
}
