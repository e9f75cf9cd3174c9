//! The one parser of a request's authentication headers: `Authorization`
//! (schemes are case-insensitive, RFC 9110 §11.1) and `X-API-Key`, at most one
//! of them, each at most once. What the credential is, its own format says.

use actix_web::http::header::{HeaderMap, AUTHORIZATION};

use crate::credentials::presented::PresentedCaller;

const X_API_KEY: &str = "x-api-key";

/// Why the headers present no single credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// More than one `Authorization` header.
    SeveralAuthorizations,
    /// Several `X-API-Key` headers, or one beside `Authorization`.
    SeveralCredentials,
    /// A header value that is not visible ASCII; `authorization` says which header.
    NotText { authorization: bool },
}

/// The one `Authorization` header, if any (the token endpoint reads only this:
/// its clients authenticate with Basic or in the body).
pub fn authorization(headers: &HeaderMap) -> Result<Option<&str>, HeaderError> {
    let mut values = headers.get_all(AUTHORIZATION);
    let first = values.next();
    if values.next().is_some() {
        return Err(HeaderError::SeveralAuthorizations);
    }
    first
        .map(|v| {
            v.to_str().map_err(|_| HeaderError::NotText {
                authorization: true,
            })
        })
        .transpose()
}

/// What the headers present, without I/O.
pub fn presented_caller(headers: &HeaderMap) -> Result<PresentedCaller<'_>, HeaderError> {
    // How many there are is checked before what they say.
    let authorizations = headers.get_all(AUTHORIZATION).count();
    if authorizations > 1 {
        return Err(HeaderError::SeveralAuthorizations);
    }
    let mut keys = headers.get_all(X_API_KEY);
    let api_key = keys.next();
    if keys.next().is_some() || (api_key.is_some() && authorizations == 1) {
        return Err(HeaderError::SeveralCredentials);
    }
    let authorization = authorization(headers)?;
    if let Some(value) = api_key {
        let value = value.to_str().map_err(|_| HeaderError::NotText {
            authorization: false,
        })?;
        return Ok(PresentedCaller::Bearer(value.trim()));
    }
    let Some(value) = authorization else {
        return Ok(PresentedCaller::Nothing);
    };
    Ok(match value.split_once(' ') {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("basic") => PresentedCaller::Basic(value),
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("api-key") =>
        {
            PresentedCaller::Bearer(token.trim())
        }
        _ => PresentedCaller::Unsupported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a [u8])],
        Result<PresentedCaller<'a>, HeaderError>,
    );

    #[test]
    fn one_credential_in_one_header() {
        let cases: &[Case] = &[
            ("none", &[], Ok(PresentedCaller::Nothing)),
            (
                "bearer",
                &[("authorization", b"Bearer abc")],
                Ok(PresentedCaller::Bearer("abc")),
            ),
            (
                "api-key scheme, any case",
                &[("authorization", b"aPi-KeY  abc ")],
                Ok(PresentedCaller::Bearer("abc")),
            ),
            (
                "x-api-key",
                &[("x-api-key", b" abc ")],
                Ok(PresentedCaller::Bearer("abc")),
            ),
            (
                "basic",
                &[("authorization", b"Basic eA==")],
                Ok(PresentedCaller::Basic("Basic eA==")),
            ),
            (
                "another scheme",
                &[("authorization", b"Digest x")],
                Ok(PresentedCaller::Unsupported),
            ),
            (
                "no scheme",
                &[("authorization", b"abc")],
                Ok(PresentedCaller::Unsupported),
            ),
            (
                "two authorizations",
                &[
                    ("authorization", b"Bearer a"),
                    ("authorization", b"Bearer b"),
                ],
                Err(HeaderError::SeveralAuthorizations),
            ),
            (
                "both headers",
                &[("authorization", b"Bearer a"), ("x-api-key", b"b")],
                Err(HeaderError::SeveralCredentials),
            ),
            (
                "two keys",
                &[("x-api-key", b"a"), ("x-api-key", b"b")],
                Err(HeaderError::SeveralCredentials),
            ),
            (
                "not text",
                &[("authorization", b"Bearer \xff")],
                Err(HeaderError::NotText {
                    authorization: true,
                }),
            ),
            (
                "key not text",
                &[("x-api-key", b"\xff")],
                Err(HeaderError::NotText {
                    authorization: false,
                }),
            ),
        ];
        for (case, pairs, expected) in cases {
            let map = headers(pairs);
            assert_eq!(&presented_caller(&map), expected, "case {case}");
        }
    }
}
