//! The frame of every page: who is signed in, the CSRF token of its forms, the
//! sections the user may open, and the middleware that puts a signed-in user's
//! frame around error pages too.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::errors::UiError;
use crate::credentials::{inspect, PresentedCredential};
use crate::domain::{CredentialKind, Permission, Principal};
use crate::error::AppError;
use crate::http::browser::CookieNames;
use crate::secret::csrf::csrf_token;
use crate::state::AppState;

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

pub(super) fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, UiError> {
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
