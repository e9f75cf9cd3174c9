//! Pure types and rules: no actix, no sea-orm, no I/O.

mod names;
mod principal;
mod scope;

pub use names::{check_label, NameError, Password, RoleName, Username};
pub use principal::{
    CredentialKind, CredentialRef, Environment, Principal, PrincipalKind, PrincipalRef,
};
pub use scope::{scope_words, Scope, ScopeError, ScopeSet};
