//! The one bounded body reader: a form at the OAuth endpoints or from a page.
//! The body is read chunk by chunk and refused as soon as it passes the limit,
//! whatever `Content-Length` claimed.

use actix_web::error::PayloadError;
use actix_web::web::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// The whole body, at most `limit` bytes.
pub async fn read_bounded<S>(payload: &mut S, limit: usize) -> Result<BytesMut, BodyError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether the request says its body is an HTML form (`application/x-www-form-urlencoded`).
pub fn is_form(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}
