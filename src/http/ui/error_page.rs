//! The error page: how a [`UiError`] answers, in the frame of the browser that
//! asked (signed-in users see their own sections around it).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpResponse, ResponseError};
use askama::Template;

use super::errors::UiError;
use super::frame::{Layout, SignedIn};
use super::pages::{render, see_other};

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
