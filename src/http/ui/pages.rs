//! Rendering: the headers every page carries, redirects, dates, notices, and
//! the two pages several sections share (a secret shown once, a confirmation).

use actix_web::http::header::{self, CacheControl, CacheDirective, ContentType};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use chrono::{DateTime, Utc};

use super::errors::UiError;
use super::frame::Layout;
use crate::error::AppError;

/// The policy of every page: our own stylesheet and script, nothing inline,
/// forms post only to us, and no framing.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

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
