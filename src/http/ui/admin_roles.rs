//! Admin pages for roles: list and create, change a role's permissions, delete
//! a custom role. Changes narrow or widen every credential of every holder at once.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::errors::UiError;
use super::forms::{first, form_status, CheckedForm, Confirmed, FieldErrors};
use super::frame::{Layout, SignedIn};
use super::pages::{ok, render, see_other, ConfirmPage, Notice};
use crate::accounts::roles::{self, RoleInput};
use crate::domain::Permission;
use crate::state::AppState;
use crate::store::roles::RoleRecord;

const PAGE_SIZE: u64 = 200;
const NOTICES: &[(&str, &str)] = &[
    ("created", "The role was created."),
    (
        "saved",
        "The role was saved. Its holders' keys and tokens follow at once.",
    ),
    ("deleted", "The role was deleted."),
];

/// What a role form shows (and keeps after an error).
pub struct RoleForm {
    pub name: String,
    pub description: String,
    /// Every known permission, and whether it is ticked.
    pub permissions: Vec<(String, bool)>,
    /// Further permissions, typed.
    pub other: String,
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    layout: Layout,
    notice: &'static str,
    roles: Vec<RoleRecord>,
    can_write: bool,
    form: RoleForm,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "admin_role.html")]
struct RolePage {
    layout: Layout,
    notice: &'static str,
    builtin: bool,
    can_write: bool,
    form: RoleForm,
    errors: FieldErrors,
}

/// The permission checkboxes, ticked where `held` has them; typed extras stay typed.
async fn role_form(
    state: &AppState,
    name: String,
    description: String,
    held: &[String],
    other: String,
) -> Result<RoleForm, UiError> {
    let known = roles::known_permissions(&state.accounts()).await?;
    let permissions = known
        .iter()
        .map(|p| (p.clone(), held.contains(p)))
        .collect();
    Ok(RoleForm {
        name,
        description,
        permissions,
        other,
    })
}

/// What the role forms post (create and edit).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleFields {
    #[serde(deserialize_with = "first")]
    name: String,
    #[serde(deserialize_with = "first")]
    description: String,
    permissions: Vec<String>,
    /// Permissions typed in rather than ticked, separated by spaces.
    #[serde(deserialize_with = "first")]
    other: String,
}

/// The permissions a role form asks for: ticked boxes plus typed ones.
fn chosen_permissions(form: &RoleFields) -> Vec<String> {
    let mut chosen = form.permissions.clone();
    chosen.extend(form.other.split_whitespace().map(str::to_owned));
    chosen
}

async fn roles_page(
    signed_in: &SignedIn,
    state: &AppState,
    notice: &'static str,
    form: RoleForm,
    errors: FieldErrors,
) -> Result<HttpResponse, UiError> {
    let caller = &signed_in.principal;
    let roles = roles::list(&state.accounts(), caller, None, PAGE_SIZE)
        .await?
        .items;
    render(
        form_status(&errors),
        &RolesPage {
            layout: signed_in.layout("roles"),
            notice,
            roles,
            can_write: signed_in.principal.has(Permission::RolesWrite),
            form,
            errors,
        },
    )
}

pub async fn list_roles(
    signed_in: SignedIn,
    notice: web::Query<Notice>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let form = role_form(&state, String::new(), String::new(), &[], String::new()).await?;
    let notice = notice.text(NOTICES);
    roles_page(&signed_in, &state, notice, form, FieldErrors::default()).await
}

#[tracing::instrument(name = "web create role", skip_all)]
pub async fn create_role(
    signed_in: SignedIn,
    CheckedForm(form): CheckedForm<RoleFields>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let description = form.description.trim();
    let permissions = chosen_permissions(&form);
    let input = RoleInput {
        description,
        permissions: &permissions,
    };
    let name = form.name.trim();
    let created = roles::create(&state.accounts(), &signed_in.principal, name, input).await;
    match created {
        Ok(record) => Ok(see_other(&format!(
            "/admin/roles/{}?done=created",
            record.role.name
        ))),
        Err(e) => {
            let errors = FieldErrors::default().absorb(e, "name")?;
            let description = description.to_owned();
            let RoleFields {
                name,
                permissions,
                other,
                ..
            } = form;
            let form = role_form(&state, name, description, &permissions, other).await?;
            roles_page(&signed_in, &state, "", form, errors).await
        }
    }
}

async fn role_page(
    signed_in: &SignedIn,
    state: &AppState,
    name: &str,
    notice: &'static str,
    edited: Option<(RoleFields, FieldErrors)>,
) -> Result<HttpResponse, UiError> {
    let record = roles::get(&state.accounts(), &signed_in.principal, name).await?;
    let (form, errors) = match edited {
        Some((form, errors)) => (
            role_form(
                state,
                record.role.name.clone(),
                form.description,
                &form.permissions,
                form.other,
            )
            .await?,
            errors,
        ),
        None => (
            role_form(
                state,
                record.role.name.clone(),
                record.role.description.clone(),
                &record.permissions,
                String::new(),
            )
            .await?,
            FieldErrors::default(),
        ),
    };
    render(
        form_status(&errors),
        &RolePage {
            layout: signed_in.layout("roles"),
            notice,
            builtin: record.role.builtin,
            can_write: signed_in.principal.has(Permission::RolesWrite),
            form,
            errors,
        },
    )
}

pub async fn show_role(
    signed_in: SignedIn,
    name: web::Path<String>,
    notice: web::Query<Notice>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    role_page(&signed_in, &state, &name, notice.text(NOTICES), None).await
}

#[tracing::instrument(name = "web update role", skip_all)]
pub async fn update_role(
    signed_in: SignedIn,
    name: web::Path<String>,
    CheckedForm(form): CheckedForm<RoleFields>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let permissions = chosen_permissions(&form);
    let input = RoleInput {
        description: form.description.trim(),
        permissions: &permissions,
    };
    let saved = roles::replace(&state.accounts(), &signed_in.principal, &name, input).await;
    match saved {
        Ok(record) => Ok(see_other(&format!(
            "/admin/roles/{}?done=saved",
            record.role.name
        ))),
        Err(e) => {
            let errors = FieldErrors::default().absorb(e, "permissions")?;
            role_page(&signed_in, &state, &name, "", Some((form, errors))).await
        }
    }
}

pub async fn confirm_role_deletion(
    signed_in: SignedIn,
    name: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    signed_in.principal.require(Permission::RolesWrite)?;
    let record = roles::get(&state.accounts(), &signed_in.principal, &name).await?;
    ok(&ConfirmPage {
        layout: signed_in.layout("roles"),
        heading: "Delete this role?",
        question: "Users and clients holding it lose its permissions at once, and so do their keys and tokens.",
        details: vec![
            ("Role", record.role.name.clone()),
            ("Permissions", record.permissions.join(" ")),
        ],
        action: format!("/admin/roles/{}/delete", record.role.name),
        button: "Delete role",
        cancel_href: format!("/admin/roles/{}", record.role.name),
    })
}

#[tracing::instrument(name = "web delete role", skip_all)]
pub async fn delete_role(
    signed_in: SignedIn,
    name: web::Path<String>,
    _form: CheckedForm<Confirmed>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    roles::delete(&state.accounts(), &signed_in.principal, &name).await?;
    Ok(see_other("/admin/roles?done=deleted"))
}
