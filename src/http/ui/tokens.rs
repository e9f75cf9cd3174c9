//! The Tokens page: a user's personal access tokens, minting one (shown once),
//! and revoking one after a confirmation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::errors::UiError;
use super::forms::{
    days_ahead, first, form_status, ticked_scopes, CheckedForm, Confirmed, FieldErrors,
};
use super::frame::{Layout, SignedIn};
use super::pages::{ok, render, see_other, when, when_opt, ConfirmPage, ListQuery, SecretPage};
use crate::credentials::personal_access_tokens::{self as pats, NewToken};
use crate::domain::scope_words;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::personal_access_tokens::Pat;

const PAGE_SIZE: u64 = 50;
/// The expiry choices of the form, in days.
const EXPIRY_DAYS: [i64; 4] = [7, 30, 60, 90];
const DEFAULT_EXPIRY: &str = "30";
const NOTICES: &[(&str, &str)] = &[(
    "revoked",
    "The token was revoked. It stopped working at once.",
)];

pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub display: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub status: &'static str,
}

impl TokenRow {
    fn new(token: Pat, now: DateTime<Utc>) -> Self {
        TokenRow {
            status: pats::status(&token, now).as_str(),
            id: token.id,
            display: format!("{}…{}", token.display_prefix, token.last_chars),
            scopes: scope_words(&token.scopes),
            created: when(&token.created_at),
            last_used: when_opt(&token.last_used_at),
            expires: when(&token.expires_at),
            name: token.name,
        }
    }
}

/// What the mint form shows (and keeps after an error).
pub struct MintForm {
    pub name: String,
    /// Every permission of the user, and whether it is ticked.
    pub scopes: Vec<(String, bool)>,
    pub expiry: String,
    pub expires_on: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    notice: &'static str,
    tokens: Vec<TokenRow>,
    next: Option<String>,
    form: MintForm,
    errors: FieldErrors,
    expiry_days: [i64; 4],
    max_days: u32,
}

async fn tokens_page(
    signed_in: &SignedIn,
    state: &AppState,
    cursor: Option<Uuid>,
    notice: &'static str,
    form: MintForm,
    errors: FieldErrors,
) -> Result<HttpResponse, UiError> {
    let page = pats::list(
        &state.credentials(),
        &signed_in.principal,
        cursor,
        PAGE_SIZE,
    )
    .await?;
    let now = state.clock.now();
    render(
        form_status(&errors),
        &TokensPage {
            layout: signed_in.layout("tokens"),
            notice,
            tokens: page
                .items
                .into_iter()
                .map(|t| TokenRow::new(t, now))
                .collect(),
            next: page.next_cursor,
            form,
            errors,
            expiry_days: EXPIRY_DAYS,
            max_days: state.settings.pat_max_lifetime_days,
        },
    )
}

pub async fn list_tokens(
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let form = MintForm {
        name: String::new(),
        scopes: signed_in.scope_choices(&[]),
        expiry: DEFAULT_EXPIRY.to_owned(),
        expires_on: String::new(),
    };
    tokens_page(
        &signed_in,
        &state,
        query.cursor,
        query.notice(NOTICES),
        form,
        FieldErrors::default(),
    )
    .await
}

/// What the mint form posts.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    #[serde(deserialize_with = "first")]
    name: String,
    scopes: Vec<String>,
    /// Days until it expires (one of [`EXPIRY_DAYS`]), or `date` for `expires_on`.
    #[serde(deserialize_with = "first")]
    expiry: String,
    #[serde(deserialize_with = "first")]
    expires_on: String,
}

/// The expiry the form asks for: one of the fixed choices, or the end of a date.
fn chosen_expiry(form: &TokenForm, now: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
    match form.expiry.as_str() {
        "date" => {
            let date = NaiveDate::parse_from_str(&form.expires_on, "%Y-%m-%d")
                .map_err(|_| AppError::validation("expires_at", "choose a date"))?;
            date.succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .ok_or_else(|| AppError::validation("expires_at", "choose a date"))
        }
        days => days_ahead(days, &EXPIRY_DAYS, now),
    }
}

#[tracing::instrument(name = "web mint token", skip_all)]
pub async fn mint_token(
    signed_in: SignedIn,
    CheckedForm(form): CheckedForm<TokenForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let now = state.clock.now();
    let minted = async {
        let token = NewToken {
            name: form.name.trim().to_owned(),
            scopes: ticked_scopes(&form.scopes)?,
            expires_at: chosen_expiry(&form, now)?,
        };
        pats::create(&state.credentials(), &signed_in.principal, token).await
    }
    .await;
    match minted {
        Ok((row, secret)) => {
            let row = TokenRow::new(row, now);
            render(
                StatusCode::CREATED,
                &SecretPage {
                    layout: signed_in.layout("tokens"),
                    heading: "Your new personal access token",
                    intro: "Send it in the Authorization header as Bearer <token>. It acts for you with the scopes below until it expires or you revoke it.",
                    secret_label: "Personal access token",
                    secret: secret.reveal(),
                    details: vec![
                        ("Name", row.name),
                        ("Scopes", row.scopes.join(" ")),
                        ("Expires", row.expires),
                    ],
                    back_href: "/tokens",
                    back_label: "I have stored it: back to my tokens",
                },
            )
        }
        Err(e) => {
            let errors = FieldErrors::default().absorb(e, "name")?;
            let form = MintForm {
                scopes: signed_in.scope_choices(&form.scopes),
                name: form.name,
                expiry: form.expiry,
                expires_on: form.expires_on,
            };
            tokens_page(&signed_in, &state, None, "", form, errors).await
        }
    }
}

pub async fn confirm_token_revocation(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let token = pats::get(&state.credentials(), &signed_in.principal, *id).await?;
    let row = TokenRow::new(token, state.clock.now());
    ok(&ConfirmPage {
        layout: signed_in.layout("tokens"),
        heading: "Revoke this token?",
        question:
            "Anything that uses this token will be refused from now on. This cannot be undone.",
        details: vec![
            ("Name", row.name),
            ("Token", row.display),
            ("Scopes", row.scopes.join(" ")),
            ("Last used", row.last_used),
        ],
        action: format!("/tokens/{}/revoke", row.id),
        button: "Revoke token",
        cancel_href: "/tokens".to_owned(),
    })
}

#[tracing::instrument(name = "web revoke token", skip_all)]
pub async fn revoke_token(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    _form: CheckedForm<Confirmed>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    pats::revoke(&state.credentials(), &signed_in.principal, *id).await?;
    Ok(see_other("/tokens?done=revoked"))
}
