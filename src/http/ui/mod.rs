//! The web UI: server-rendered pages from `templates/` (askama, escaped by
//! default), one small stylesheet and one small script served by Trident.
//! Handlers here call the same use cases as the JSON API; what is UI-specific is
//! the session cookie, the CSRF checks ([`CheckedForm`]) and the pages.
//!
//! Every page answers with a strict Content-Security-Policy and `no-store` (pages
//! show a user's credentials; the ones that show a secret must never be cached).

pub mod account;
pub mod admin_audit;
pub mod admin_clients;
pub mod admin_roles;
pub mod admin_users;
pub mod api_keys;
pub mod assets;
pub mod tokens;

use std::collections::BTreeMap;
use std::fmt;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;

use super::body::BodyError;
use super::browser::{is_same_origin, CookieNames};
use crate::credentials::{inspect, PresentedCredential};
use crate::domain::CredentialKind;
use crate::domain::{Permission, Principal};
use crate::error::AppError;
use crate::secret::csrf::{csrf_token, verify_csrf};
use crate::state::AppState;

/// The policy of every page: our own stylesheet and script, nothing inline,
/// forms post only to us, and no framing.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// Largest form body a page accepts.
const FORM_LIMIT_BYTES: usize = 16 * 1024;
/// The form field that carries the CSRF token.
const CSRF_FIELD: &str = "csrf_token";

/// What every page's frame shows: who is signed in, the CSRF token for its
/// forms, and which sections the user may open.
pub struct Layout {
    pub username: String,
    pub csrf: String,
    pub section: &'static str,
    pub own_tokens: bool,
    pub own_api_keys: bool,
    pub admin_users: bool,
    pub admin_roles: bool,
    pub admin_clients: bool,
    pub admin_audit: bool,
}

impl Layout {
    pub fn signed_out(csrf: String, section: &'static str) -> Self {
        Layout {
            username: String::new(),
            csrf,
            section,
            own_tokens: false,
            own_api_keys: false,
            admin_users: false,
            admin_roles: false,
            admin_clients: false,
            admin_audit: false,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.admin_users || self.admin_roles || self.admin_clients || self.admin_audit
    }
}

/// A signed-in browser: the session's principal and the frame of its pages.
pub struct SignedIn {
    pub principal: Principal,
    csrf: String,
}

impl SignedIn {
    /// The frame of a page of `section`.
    pub fn layout(&self, section: &'static str) -> Layout {
        let can = |permission| self.principal.has(permission);
        Layout {
            username: self.principal.principal.name.clone(),
            csrf: self.csrf.clone(),
            section,
            own_tokens: can(Permission::TokensRead),
            own_api_keys: can(Permission::ApiKeysRead),
            admin_users: can(Permission::UsersRead),
            admin_roles: can(Permission::RolesRead),
            admin_clients: can(Permission::ClientsRead),
            admin_audit: can(Permission::AuditRead),
        }
    }
}

impl SignedIn {
    /// Where `/` takes this user: the first section it may open (the tokens page
    /// when none, whose 403 says which permission is missing).
    pub fn home(&self) -> &'static str {
        [
            (Permission::TokensRead, "/tokens"),
            (Permission::ApiKeysRead, "/api-keys"),
            (Permission::UsersRead, "/admin/users"),
            (Permission::RolesRead, "/admin/roles"),
            (Permission::ClientsRead, "/admin/clients"),
            (Permission::AuditRead, "/admin/audit"),
        ]
        .iter()
        .find(|(permission, _)| self.principal.has(*permission))
        .map_or("/tokens", |(_, path)| path)
    }

    /// Every permission of the user, ticked where `ticked` names it: the scope
    /// checkboxes of a form that mints a credential.
    pub fn scope_choices(&self, ticked: &[String]) -> Vec<(String, bool)> {
        self.principal
            .scopes
            .iter()
            .map(|s| {
                (
                    s.as_str().to_owned(),
                    ticked.iter().any(|t| t == s.as_str()),
                )
            })
            .collect()
    }
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, UiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| UiError::from(AppError::Unexpected(anyhow::anyhow!("AppState missing"))))
}

impl FromRequest for SignedIn {
    type Error = UiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = app_state(req);
        let secret = state
            .as_ref()
            .ok()
            .and_then(|s| CookieNames::for_settings(&s.settings).session_secret(req));
        Box::pin(async move {
            let state = state?;
            let secret = secret.ok_or(UiError::SignIn)?;
            let csrf = csrf_token(secret.reveal());
            let presented = PresentedCredential::Opaque(secret);
            let inspection = inspect::inspect(&state.credentials(), &presented)
                .await
                .map_err(AppError::from)?;
            if inspection.kind() != CredentialKind::BrowserSession {
                return Err(UiError::SignIn);
            }
            Ok(SignedIn {
                principal: inspection.principal.clone(),
                csrf,
            })
        })
    }
}

/// A URL-encoded form body that passed the anti-forgery checks: it came from one
/// of Trident's own pages (`Sec-Fetch-Site` / `Origin`) and carries the CSRF token
/// of this browser's session cookie.
pub struct CheckedForm {
    fields: Vec<(String, String)>,
}

impl CheckedForm {
    /// The value of a single-valued field ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }
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

async fn read_checked_form(
    req: HttpRequest,
    mut payload: Payload,
    source: TokenSource,
) -> Result<CheckedForm, UiError> {
    let state = app_state(&req)?;
    if !super::body::is_form(req.headers()) {
        return Err(UiError::page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "This address takes a form submitted from Trident's pages.",
        ));
    }
    if !is_same_origin(req.headers(), &state.settings.issuer) {
        return Err(forgery());
    }
    let body = super::body::read_bounded(&mut payload, FORM_LIMIT_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => {
                UiError::page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.")
            }
            BodyError::Unreadable => {
                UiError::page(StatusCode::BAD_REQUEST, "The form could not be read.")
            }
        })?;
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let form = CheckedForm { fields };
    let cookies = CookieNames::for_settings(&state.settings);
    let cookie_secret = match source {
        TokenSource::Session => cookies.session_secret(&req).map(|s| s.reveal().to_owned()),
        TokenSource::AntiForgery => cookies.anti_forgery_value(&req),
    };
    match cookie_secret {
        Some(secret) if verify_csrf(&secret, form.get(CSRF_FIELD)) => Ok(form),
        _ => Err(forgery()),
    }
}

impl FromRequest for CheckedForm {
    type Error = UiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        Box::pin(read_checked_form(
            req.clone(),
            payload.take(),
            TokenSource::Session,
        ))
    }
}

/// The sign-in or registration form: a [`CheckedForm`] whose token belongs to
/// the anti-forgery cookie rather than to a session.
pub struct SignedOutForm(pub CheckedForm);

impl FromRequest for SignedOutForm {
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

/// Renders a page with the UI's headers.
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, UiError> {
    let html = page
        .render()
        .map_err(|e| AppError::Unexpected(anyhow::Error::new(e).context("rendering a page")))?;
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
        // Other sites learn nothing from a link; our own forms keep a real `Origin`.
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(html))
}

pub fn ok(page: &impl Template) -> Result<HttpResponse, UiError> {
    render(StatusCode::OK, page)
}

/// A page that shows a form: 422 when it comes back with errors.
pub fn form_status(errors: &FieldErrors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// Post/Redirect/Get: after a change, back to a page (303 so the browser GETs it).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Dates as people read them in a table (the pages say they are UTC).
pub fn when(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

pub fn when_opt(at: &Option<DateTime<Utc>>) -> String {
    at.as_ref().map_or_else(|| "never".to_owned(), when)
}

/// A page's short success notice, chosen by a fixed code in the query string
/// (so a link can never make a page say something we did not write).
#[derive(serde::Deserialize, Default)]
pub struct Notice {
    #[serde(default)]
    pub done: Option<String>,
}

impl Notice {
    pub fn text(&self, messages: &[(&str, &'static str)]) -> &'static str {
        let done = self.done.as_deref().unwrap_or_default();
        messages
            .iter()
            .find(|(code, _)| *code == done)
            .map_or("", |(_, text)| text)
    }
}

/// The query of a list page: where the page starts, and what was just done.
#[derive(serde::Deserialize)]
pub struct ListQuery {
    pub cursor: Option<uuid::Uuid>,
    pub done: Option<String>,
}

impl ListQuery {
    pub fn notice(&self, messages: &[(&str, &'static str)]) -> &'static str {
        Notice {
            done: self.done.clone(),
        }
        .text(messages)
    }
}

/// A path segment of a page that names nothing (e.g. not a UUID): the 404 page.
pub fn path_error(_: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    UiError::from(AppError::NotFound).into()
}

/// A page's query string that does not parse: the 400 page.
pub fn query_error(_: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    UiError::page(StatusCode::BAD_REQUEST, "This address is malformed.").into()
}

/// Why a page could not be shown.
pub enum UiError {
    /// Not signed in (or the session ended): to the sign-in page.
    SignIn,
    Page {
        status: StatusCode,
        message: String,
        retry_after: Option<u64>,
    },
}

impl UiError {
    pub fn page(status: StatusCode, message: impl Into<String>) -> Self {
        UiError::Page {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<crate::domain::MissingPermission> for UiError {
    fn from(err: crate::domain::MissingPermission) -> Self {
        AppError::from(err).into()
    }
}

impl From<AppError> for UiError {
    fn from(err: AppError) -> Self {
        let page = |status, message: &str| UiError::page(status, message);
        match err {
            AppError::Unauthenticated => UiError::SignIn,
            AppError::Forbidden(scope) => UiError::page(
                StatusCode::FORBIDDEN,
                format!("Your account needs the {scope} permission for this page."),
            ),
            AppError::CannotGrant { permission, .. } => UiError::page(
                StatusCode::FORBIDDEN,
                format!("You cannot grant {permission}: your account does not hold it."),
            ),
            AppError::ExceedsCaller(reason) => UiError::page(StatusCode::FORBIDDEN, reason),
            AppError::NotFound => page(StatusCode::NOT_FOUND, "There is nothing here."),
            AppError::Validation { field, message } => UiError::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{field}: {message}"),
            ),
            AppError::BadRequest(message) => UiError::page(StatusCode::BAD_REQUEST, message),
            AppError::Conflict(message) => UiError::page(StatusCode::CONFLICT, message),
            AppError::TooManyRequests { retry_after } => UiError::Page {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: format!("Too many attempts. Try again in {retry_after} seconds."),
                retry_after: Some(retry_after),
            },
            AppError::Unavailable { retry_after } => UiError::Page {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "Trident is busy. Try again in a moment.".into(),
                retry_after: Some(retry_after),
            },
            AppError::Unexpected(e) => {
                tracing::error!(error = ?e, "unexpected error on a page");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. Try again.",
                )
            }
        }
    }
}

impl fmt::Debug for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UiError::SignIn => f.write_str("sign in"),
            UiError::Page { status, .. } => write!(f, "page {status}"),
        }
    }
}

impl fmt::Display for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match self {
            UiError::SignIn => StatusCode::SEE_OTHER,
            UiError::Page { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            UiError::SignIn => see_other("/login"),
            // The error type knows no session: the frame offers the main sections
            // (a signed-out visitor is sent on to sign in from there), and
            // [`frame_errors`] puts a signed-in user's own frame around it.
            UiError::Page { .. } => self.page_in(Layout::signed_out(String::new(), "error")),
        }
    }
}

impl UiError {
    /// The error page in the frame `layout`.
    fn page_in(&self, layout: Layout) -> HttpResponse {
        let UiError::Page {
            status,
            message,
            retry_after,
        } = self
        else {
            return self.error_response();
        };
        let page = ErrorPage {
            layout,
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            message,
        };
        let mut response =
            render(*status, &page).unwrap_or_else(|_| HttpResponse::build(*status).finish());
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(*seconds));
        }
        response
    }
}

/// Middleware: an error page shown to a signed-in browser gets that user's frame
/// (name, sections, sign-out), like every other page. Responses that are not UI
/// error pages pass untouched.
pub async fn frame_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let response = next.call(req).await?;
    let page = response
        .response()
        .error()
        .and_then(|e| e.as_error::<UiError>())
        .filter(|e| matches!(e, UiError::Page { .. }));
    let Some(page) = page else {
        return Ok(response.map_into_left_body());
    };
    let Ok(signed_in) = SignedIn::extract(response.request()).await else {
        return Ok(response.map_into_left_body());
    };
    let mut framed = page.page_in(signed_in.layout("error"));
    // Headers the first answer carried beyond the page's own (`Allow` on a 405).
    for (name, value) in response.headers() {
        if !framed.headers().contains_key(name) {
            framed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(response.into_response(framed).map_into_right_body())
}

/// A secret shown once (a new PAT, API key or client secret).
#[derive(Template)]
#[template(path = "secret.html")]
pub struct SecretPage<'a> {
    pub layout: Layout,
    pub heading: &'a str,
    pub intro: &'a str,
    pub secret_label: &'a str,
    pub secret: &'a str,
    pub details: Vec<(&'static str, String)>,
    pub back_href: &'a str,
    pub back_label: &'a str,
}

/// The confirmation step before a destructive action.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage<'a> {
    pub layout: Layout,
    pub heading: &'a str,
    pub question: &'a str,
    pub details: Vec<(&'static str, String)>,
    pub action: String,
    pub button: &'a str,
    pub cancel_href: String,
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

/// The grace period a rotation form asks for (one of [`GRACE_CHOICES`]).
pub fn chosen_grace(form: &CheckedForm) -> Result<chrono::Duration, AppError> {
    GRACE_CHOICES
        .iter()
        .find(|(secs, _)| secs.to_string() == form.get("grace_seconds"))
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
