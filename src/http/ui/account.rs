//! Signing in and out, self-registration, and `/`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::errors::UiError;
use super::forms::{first, form_status, CheckedForm, Confirmed, FieldErrors, SignedOutForm};
use super::frame::{Layout, SignedIn};
use super::pages::{render, see_other, Notice, SecretPage};
use crate::accounts;
use crate::credentials::browser_sessions::{self, OpenedSession};
use crate::domain::Password;
use crate::error::AppError;
use crate::http::browser::CookieNames;
use crate::http::extract::source_ip;
use crate::secret::csrf::csrf_token;
use crate::secret::random_base62;
use crate::state::AppState;

const LOGIN_NOTICES: &[(&str, &str)] = &[
    ("signed-out", "You are signed out."),
    ("expired", "Your session ended. Sign in again."),
];

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    layout: Layout,
    username: &'a str,
    error: &'a str,
    notice: &'a str,
    registration: bool,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    layout: Layout,
    username: &'a str,
    errors: FieldErrors,
}

/// `/`: the tokens page when signed in, else the sign-in page.
pub async fn show_home(signed_in: Result<SignedIn, UiError>) -> HttpResponse {
    match signed_in {
        Ok(signed_in) => see_other(signed_in.home()),
        Err(_) => see_other("/login"),
    }
}

/// The value the sign-in and registration forms' CSRF token is derived from:
/// the browser's anti-forgery cookie, or a new one to set.
fn anti_forgery(req: &HttpRequest, cookies: &CookieNames) -> (String, Option<String>) {
    match cookies.anti_forgery_value(req) {
        Some(value) => (value, None),
        None => {
            let value = random_base62(43);
            (value.clone(), Some(value))
        }
    }
}

/// Renders a signed-out page, setting the anti-forgery cookie if the browser has none.
fn signed_out_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    page: impl FnOnce(Layout) -> Result<HttpResponse, UiError>,
) -> Result<HttpResponse, UiError> {
    let cookies = CookieNames::for_settings(&state.settings);
    let (value, new) = anti_forgery(req, &cookies);
    let mut response = page(Layout::signed_out(csrf_token(&value), ""))?;
    *response.status_mut() = status;
    if let Some(value) = new {
        response
            .add_cookie(&cookies.anti_forgery_cookie(value))
            .map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))?;
    }
    Ok(response)
}

pub async fn show_login(
    req: HttpRequest,
    signed_in: Result<SignedIn, UiError>,
    notice: web::Query<Notice>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    if let Ok(signed_in) = signed_in {
        return Ok(see_other(signed_in.home()));
    }
    let notice = notice.text(LOGIN_NOTICES);
    let mut response = login_page(&req, &state, StatusCode::OK, "", "", notice)?;
    // A session cookie that no longer signs in is only in the way.
    let cookies = CookieNames::for_settings(&state.settings);
    if cookies.session_secret(&req).is_some() {
        response
            .add_cookie(&cookies.session_removal())
            .map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))?;
    }
    Ok(response)
}

fn login_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    username: &str,
    error: &str,
    notice: &str,
) -> Result<HttpResponse, UiError> {
    signed_out_page(req, state, status, |layout| {
        render(
            status,
            &LoginPage {
                layout,
                username,
                error,
                notice,
                registration: state.settings.allow_registration,
            },
        )
    })
}

/// Starts a session: a fresh secret every time (the old one, if any, ends).
fn signed_in_response(
    state: &AppState,
    opened: &OpenedSession,
    response: HttpResponse,
) -> Result<HttpResponse, UiError> {
    let cookies = CookieNames::for_settings(&state.settings);
    let max_age = (opened.expires_at - state.clock.now()).num_seconds();
    let mut response = response;
    response
        .add_cookie(&cookies.session_cookie(&opened.secret, max_age))
        .map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))?;
    Ok(response)
}

/// What the sign-in and registration forms post.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    #[serde(deserialize_with = "first")]
    username: String,
    #[serde(deserialize_with = "first")]
    password: String,
}

#[tracing::instrument(name = "web sign-in", skip_all)]
pub async fn sign_in(
    req: HttpRequest,
    SignedOutForm(form): SignedOutForm<AccountForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let username = form.username.trim().to_owned();
    let password = Password::presented(form.password);
    let previous = CookieNames::for_settings(&state.settings).session_secret(&req);
    let opened = browser_sessions::sign_in(
        &state.credentials(),
        &username,
        password,
        source_ip(&req),
        previous.as_ref(),
    )
    .await;
    match opened {
        // `/` picks the first section this user may open.
        Ok(opened) => signed_in_response(&state, &opened, see_other("/")),
        // One message whatever was wrong: nothing says which part.
        Err(AppError::Unauthenticated) => login_page(
            &req,
            &state,
            StatusCode::UNAUTHORIZED,
            &username,
            "Incorrect username or password.",
            "",
        ),
        Err(AppError::TooManyRequests { retry_after }) => {
            let message = format!("Too many sign-in attempts. Try again in {retry_after} seconds.");
            let too_many = StatusCode::TOO_MANY_REQUESTS;
            let mut response = login_page(&req, &state, too_many, &username, &message, "")?;
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after),
            );
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

#[tracing::instrument(name = "web sign-out", skip_all)]
pub async fn sign_out(
    req: HttpRequest,
    _form: CheckedForm<Confirmed>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let cookies = CookieNames::for_settings(&state.settings);
    if let Some(secret) = cookies.session_secret(&req) {
        browser_sessions::sign_out(&state.credentials(), &secret).await?;
    }
    let mut response = see_other("/login?done=signed-out");
    response
        .add_cookie(&cookies.session_removal())
        .map_err(|e| AppError::Unexpected(anyhow::Error::new(e)))?;
    Ok(response)
}

pub async fn show_registration(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    if !state.settings.allow_registration {
        return Err(AppError::NotFound.into());
    }
    registration_page(&req, &state, "", FieldErrors::default())
}

fn registration_page(
    req: &HttpRequest,
    state: &AppState,
    username: &str,
    errors: FieldErrors,
) -> Result<HttpResponse, UiError> {
    let status = form_status(&errors);
    signed_out_page(req, state, status, |layout| {
        render(
            status,
            &RegisterPage {
                layout,
                username,
                errors,
            },
        )
    })
}

#[tracing::instrument(name = "web registration", skip_all)]
pub async fn register(
    req: HttpRequest,
    SignedOutForm(form): SignedOutForm<AccountForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let username = form.username.trim().to_owned();
    let created = match Password::parse(form.password) {
        Ok(password) => {
            accounts::users::register(&state.accounts(), &username, password, source_ip(&req)).await
        }
        Err(e) => Err(AppError::validation("password", e.0)),
    };
    let created = match created {
        Ok(created) => created,
        Err(e) => {
            let errors = FieldErrors::default().absorb(e, "username")?;
            return registration_page(&req, &state, &username, errors);
        }
    };
    let now = state.clock.now();
    let previous = CookieNames::for_settings(&state.settings).session_secret(&req);
    let user = &created.record.user;
    let opened = browser_sessions::open(
        &state.credentials(),
        user,
        source_ip(&req),
        previous.as_ref(),
        now,
    )
    .await?;
    let response = match created.api_key {
        // The first API key is shown once, right now.
        Some((key, secret)) => {
            let mut layout = Layout::signed_out(csrf_token(opened.secret.reveal()), "api-keys");
            layout.username = created.record.user.username.clone();
            render(
                StatusCode::CREATED,
                &SecretPage {
                    layout,
                    heading: "Welcome to Trident",
                    intro: "Your account is ready, and here is your first API key for your workers and scripts.",
                    secret_label: "Your API key",
                    secret: secret.reveal(),
                    details: vec![("Name", key.name), ("Environment", key.environment)],
                    back_href: "/tokens",
                    back_label: "I have stored it: continue",
                },
            )?
        }
        None => see_other("/tokens"),
    };
    signed_in_response(&state, &opened, response)
}
