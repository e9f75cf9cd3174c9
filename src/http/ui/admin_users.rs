//! Admin pages for users: list and create, change roles, disable, reset a
//! password, delete. The same use cases (and the same rule that an enabled admin
//! must remain) as `/api/v1/users`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::errors::UiError;
use super::forms::{
    checkbox, first, form_status, role_choices, CheckedForm, Confirmed, FieldErrors,
};
use super::frame::{Layout, SignedIn};
use super::pages::{ok, render, see_other, when, ConfirmPage, ListQuery, Notice, SecretPage};
use secrecy::SecretString;

use crate::accounts::users::{self, NewUserInput, UserUpdateInput};
use crate::accounts::USER_ROLE;
use crate::domain::Permission;
use crate::state::AppState;
use crate::store::users::UserRecord;

const PAGE_SIZE: u64 = 100;
const NOTICES: &[(&str, &str)] = &[
    ("created", "The user was created."),
    (
        "saved",
        "The changes were saved. They apply to every credential of this user at once.",
    ),
    (
        "deleted",
        "The user and all of their keys, tokens and sessions were deleted.",
    ),
];

pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created: String,
}

impl From<UserRecord> for UserRow {
    fn from(record: UserRecord) -> Self {
        UserRow {
            id: record.user.id,
            username: record.user.username,
            roles: record.roles,
            disabled: record.user.disabled,
            created: when(&record.user.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    layout: Layout,
    notice: &'static str,
    users: Vec<UserRow>,
    next: Option<String>,
    can_write: bool,
    username: String,
    roles: Vec<(String, bool)>,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    layout: Layout,
    notice: &'static str,
    user: UserRow,
    can_write: bool,
    roles: Vec<(String, bool)>,
    errors: FieldErrors,
}

async fn users_page(
    signed_in: &SignedIn,
    state: &AppState,
    query: &ListQuery,
    username: String,
    ticked: &[String],
    errors: FieldErrors,
) -> Result<HttpResponse, UiError> {
    let caller = &signed_in.principal;
    let page = users::list(&state.accounts(), caller, query.cursor, PAGE_SIZE).await?;
    render(
        form_status(&errors),
        &UsersPage {
            layout: signed_in.layout("users"),
            notice: query.notice(NOTICES),
            users: page.items.into_iter().map(UserRow::from).collect(),
            next: page.next_cursor,
            can_write: signed_in.principal.has(Permission::UsersWrite),
            username,
            roles: role_choices(state, ticked).await?,
            errors,
        },
    )
}

pub async fn list_users(
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let ticked = [USER_ROLE.to_owned()];
    users_page(
        &signed_in,
        &state,
        &query,
        String::new(),
        &ticked,
        FieldErrors::default(),
    )
    .await
}

/// What the user forms post (create and edit; editing has no username).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UserForm {
    #[serde(deserialize_with = "first")]
    username: String,
    /// A new password; empty on the edit form keeps the current one.
    #[serde(deserialize_with = "first")]
    password: String,
    roles: Vec<String>,
    #[serde(deserialize_with = "checkbox")]
    disabled: bool,
}

#[tracing::instrument(name = "web create user", skip_all)]
pub async fn create_user(
    signed_in: SignedIn,
    CheckedForm(form): CheckedForm<UserForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let password = SecretString::from(form.password);
    let input = NewUserInput {
        username: form.username.trim(),
        password: &password,
        roles: Some(&form.roles),
    };
    let created = users::create(&state.accounts(), &signed_in.principal, input).await;
    let created = match created {
        Ok(created) => created,
        Err(e) => {
            let errors = FieldErrors::default().absorb(e, "username")?;
            let query = ListQuery {
                cursor: None,
                done: None,
            };
            let (username, ticked) = (form.username, form.roles);
            return users_page(&signed_in, &state, &query, username, &ticked, errors).await;
        }
    };
    let user_page = format!("/admin/users/{}", created.record.user.id);
    match created.api_key {
        Some((key, secret)) => render(
            StatusCode::CREATED,
            &SecretPage {
                layout: signed_in.layout("users"),
                heading: "User created",
                intro: "Every new user gets a live API key. Hand it to them over a safe channel, or revoke it if they should not have one.",
                secret_label: "Their first API key",
                secret: secret.reveal(),
                details: vec![
                    ("Username", created.record.user.username.clone()),
                    ("Roles", created.record.roles.join(", ")),
                    ("Key name", key.name),
                ],
                back_href: &user_page,
                back_label: "Done",
            },
        ),
        None => Ok(see_other(&format!("{user_page}?done=created"))),
    }
}

/// The user's page; after a refused change, with the admin's input kept.
async fn user_page(
    signed_in: &SignedIn,
    state: &AppState,
    id: Uuid,
    notice: &'static str,
    refused: Option<(UserForm, FieldErrors)>,
) -> Result<HttpResponse, UiError> {
    let record = users::get(&state.accounts(), &signed_in.principal, id).await?;
    let mut user = UserRow::from(record);
    let (ticked, errors) = match refused {
        Some((form, errors)) => {
            user.disabled = form.disabled;
            (form.roles, errors)
        }
        None => (user.roles.clone(), FieldErrors::default()),
    };
    let roles = role_choices(state, &ticked).await?;
    render(
        form_status(&errors),
        &UserPage {
            layout: signed_in.layout("users"),
            notice,
            user,
            can_write: signed_in.principal.has(Permission::UsersWrite),
            roles,
            errors,
        },
    )
}

pub async fn show_user(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    notice: web::Query<Notice>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let notice = notice.text(NOTICES);
    user_page(&signed_in, &state, *id, notice, None).await
}

#[tracing::instrument(name = "web update user", skip_all)]
pub async fn update_user(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    CheckedForm(mut form): CheckedForm<UserForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let password = match std::mem::take(&mut form.password) {
        p if p.is_empty() => None,
        p => Some(SecretString::from(p)),
    };
    let input = UserUpdateInput {
        password: password.as_ref(),
        disabled: Some(form.disabled),
        roles: Some(&form.roles),
    };
    let updated = users::update(&state.accounts(), &signed_in.principal, *id, input).await;
    match updated {
        Ok(_) => Ok(see_other(&format!("/admin/users/{id}?done=saved"))),
        Err(e) => {
            // A conflict (the last enabled administrator) concerns the whole change.
            let errors = FieldErrors::default().absorb(e, "form")?;
            user_page(&signed_in, &state, *id, "", Some((form, errors))).await
        }
    }
}

pub async fn confirm_user_deletion(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    signed_in.principal.require(Permission::UsersWrite)?;
    let user = UserRow::from(users::get(&state.accounts(), &signed_in.principal, *id).await?);
    ok(&ConfirmPage {
        layout: signed_in.layout("users"),
        heading: "Delete this user?",
        question: "Their API keys, personal access tokens and sessions are deleted with them and stop working at once. This cannot be undone.",
        details: vec![
            ("Username", user.username.clone()),
            ("Roles", user.roles.join(", ")),
        ],
        action: format!("/admin/users/{}/delete", user.id),
        button: "Delete user",
        cancel_href: format!("/admin/users/{}", user.id),
    })
}

#[tracing::instrument(name = "web delete user", skip_all)]
pub async fn delete_user(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    _form: CheckedForm<Confirmed>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    users::delete(&state.accounts(), &signed_in.principal, *id).await?;
    Ok(see_other("/admin/users?done=deleted"))
}
