//! Forms: the anti-forgery checked extractor, field errors, and the choices
//! forms offer (grace periods, expiries, roles, scopes).

use std::collections::BTreeMap;
use std::fmt;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::errors::UiError;
use super::frame::app_state;
use super::pages::when;
use crate::error::AppError;
use crate::http::body::BodyError;
use crate::http::browser::{is_same_origin, CookieNames};
use crate::secret::csrf::verify_csrf;
use crate::state::AppState;

/// Largest form body a page accepts.
const FORM_LIMIT_BYTES: usize = 16 * 1024;

/// A URL-encoded form body that passed the anti-forgery checks (it came from
/// one of Trident's own pages, `Sec-Fetch-Site` / `Origin`, and carries the CSRF
/// token of this browser's session cookie), read into the page's own form type.
///
/// `T` names every field the page posts; repeated fields (checkboxes) are
/// `Vec<String>`, a missing field is its default (`#[serde(default)]` on the
/// type), unknown fields are ignored. A body that does not fit `T` is the 400
/// page, like one that cannot be read at all.
pub struct CheckedForm<T>(pub T);

/// The form of a page that posts nothing but its CSRF token (a confirmation).
#[derive(Deserialize)]
pub struct Confirmed {}

/// A single-valued field: sent more than once, the first value counts (a
/// browser sends a form's fields in document order).
pub fn first<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a form field")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
            Ok(value.to_owned())
        }

        fn visit_string<E: de::Error>(self, value: String) -> Result<String, E> {
            Ok(value)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut values: A) -> Result<String, A::Error> {
            let first = values.next_element::<String>()?.unwrap_or_default();
            while values.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    deserializer.deserialize_any(First)
}

/// A checkbox: ticked when it is sent with a value.
pub fn checkbox<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(!first(deserializer)?.is_empty())
}

/// Which cookie a form's CSRF token must belong to.
#[derive(Clone, Copy)]
enum TokenSource {
    /// The session's: every form of a signed-in page.
    Session,
    /// The anti-forgery cookie's: the sign-in and registration forms, which a
    /// browser may submit with no session, or with one that has ended.
    AntiForgery,
}

/// The CSRF field alone: checked before the rest of the body means anything.
#[derive(Deserialize)]
struct CsrfField {
    #[serde(default, deserialize_with = "first")]
    csrf_token: String,
}

async fn read_checked_form<T: DeserializeOwned>(
    req: HttpRequest,
    mut payload: Payload,
    source: TokenSource,
) -> Result<T, UiError> {
    let state = app_state(&req)?;
    if !crate::http::body::is_form(req.headers()) {
        return Err(UiError::page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "This address takes a form submitted from Trident's pages.",
        ));
    }
    if !is_same_origin(req.headers(), &state.settings.issuer) {
        return Err(forgery());
    }
    let unreadable = || UiError::page(StatusCode::BAD_REQUEST, "The form could not be read.");
    let body = crate::http::body::read_bounded(&mut payload, FORM_LIMIT_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => {
                UiError::page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.")
            }
            BodyError::Unreadable => unreadable(),
        })?;
    let cookies = CookieNames::for_settings(&state.settings);
    let cookie_secret = match source {
        TokenSource::Session => cookies.session_secret(&req).map(|s| s.reveal().to_owned()),
        TokenSource::AntiForgery => cookies.anti_forgery_value(&req),
    };
    let presented = serde_html_form::from_bytes::<CsrfField>(&body).map_err(|_| forgery())?;
    match cookie_secret {
        Some(secret) if verify_csrf(&secret, &presented.csrf_token) => {}
        _ => return Err(forgery()),
    }
    serde_html_form::from_bytes(&body).map_err(|_| unreadable())
}

impl<T: DeserializeOwned + 'static> FromRequest for CheckedForm<T> {
    type Error = UiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = read_checked_form(req.clone(), payload.take(), TokenSource::Session);
        Box::pin(async move { form.await.map(CheckedForm) })
    }
}

/// The sign-in or registration form: a [`CheckedForm`] whose token belongs to
/// the anti-forgery cookie rather than to a session.
pub struct SignedOutForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for SignedOutForm<T> {
    type Error = UiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = read_checked_form(req.clone(), payload.take(), TokenSource::AntiForgery);
        Box::pin(async move { form.await.map(SignedOutForm) })
    }
}

fn forgery() -> UiError {
    UiError::page(
        StatusCode::FORBIDDEN,
        "This form was not submitted from this site's own page, or the page expired. \
         Go back, reload the page and try again.",
    )
}

/// Field errors of a form, shown next to each field.
#[derive(Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn get(&self, field: &str) -> &str {
        self.0.get(field).map_or("", String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    /// A validation error becomes a field error; any other error is the page's.
    pub fn absorb(mut self, err: AppError, default_field: &str) -> Result<Self, UiError> {
        match err {
            AppError::Validation { field, message } => {
                self.0.insert(field, message);
                Ok(self)
            }
            AppError::Conflict(message) => {
                self.0.insert(default_field.to_owned(), message);
                Ok(self)
            }
            AppError::CannotGrant { field, permission } => {
                self.0.insert(
                    field.to_owned(),
                    format!("you cannot grant {permission}: your account does not hold it"),
                );
                Ok(self)
            }
            other => Err(other.into()),
        }
    }
}

/// A page that shows a form: 422 when it comes back with errors.
pub fn form_status(errors: &FieldErrors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// How long an old secret keeps working after a rotation: the form's choices.
pub const GRACE_CHOICES: [(i64, &str); 4] = [
    (0, "Stop the old one now"),
    (3_600, "1 hour"),
    (86_400, "24 hours"),
    (604_800, "7 days"),
];
pub const DEFAULT_GRACE_SECS: i64 = 86_400;

/// What happens to the old secret after a rotation, in words.
pub fn until_text(now: DateTime<Utc>, grace: chrono::Duration) -> String {
    if grace.is_zero() {
        "stopped working now".to_owned()
    } else {
        format!("keeps working until {}", when(&(now + grace)))
    }
}

/// What a rotation form posts: how long the old secret keeps working.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GraceForm {
    #[serde(deserialize_with = "first")]
    pub grace_seconds: String,
}

/// The grace period a rotation form asks for (one of [`GRACE_CHOICES`]).
pub fn chosen_grace(grace_seconds: &str) -> Result<chrono::Duration, AppError> {
    GRACE_CHOICES
        .iter()
        .find(|(secs, _)| secs.to_string() == grace_seconds)
        .map(|(secs, _)| chrono::Duration::seconds(*secs))
        .ok_or_else(|| AppError::validation("grace_seconds", "choose how long the old one works"))
}

/// Every role, ticked where `held` names it: the role checkboxes of a form.
pub async fn role_choices(
    state: &AppState,
    held: &[String],
) -> Result<Vec<(String, bool)>, UiError> {
    Ok(crate::accounts::roles::choices(&state.accounts(), held).await?)
}

/// The scopes a form's checkboxes ticked, parsed (the `scopes` field on error).
pub fn ticked_scopes(ticked: &[String]) -> Result<crate::domain::ScopeSet, AppError> {
    crate::domain::ScopeSet::parse_all(ticked.iter().map(String::as_str))
        .map_err(|e| AppError::validation("scopes", e.to_string()))
}

/// `now` plus the number of days a form chose, if it is one of `choices`.
pub fn days_ahead(
    chosen: &str,
    choices: &[i64],
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, AppError> {
    choices
        .iter()
        .find(|d| d.to_string() == chosen)
        .map(|d| now + chrono::Duration::days(*d))
        .ok_or_else(|| AppError::validation("expires_at", "choose an expiry"))
}
