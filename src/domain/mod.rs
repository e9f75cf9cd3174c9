//! Pure types and rules: no actix, no sea-orm, no I/O.

mod credential;
mod grants;
mod inspection;
mod names;
mod permission;
mod principal;
mod scope;
mod status;

pub use credential::{CredentialId, CredentialKind};
pub use grants::Grants;
pub use inspection::{Audience, Inspection, TokenType};
pub use names::{check_label, InvalidRoleName, NameError, Password, RoleName, Username};
pub use permission::{MissingPermission, Permission};
pub use principal::{CredentialRef, Environment, Principal, PrincipalKind, PrincipalRef};
pub use scope::{scope_words, Scope, ScopeError, ScopeSet};
pub use status::CredentialStatus;
