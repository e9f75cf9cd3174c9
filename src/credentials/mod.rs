//! The credentials Trident issues and accepts, a file per kind, each behind one
//! trait (`kind::Credential`: inspect and revoke). An opaque secret's kind picks
//! its code in exactly two places (`dispatch`), one per operation; a JWT access
//! token is recognised by its shape and handled by `access_tokens`.
//!
//! Nothing here imports the protocol (`oauth`) or the HTTP layer; every use
//! case takes [`CredentialDeps`], never the whole application state.

pub mod access_tokens;
pub mod api_keys;
pub mod browser_sessions;
pub mod changes;
pub mod client_secrets;
pub mod delegation;
mod deps;
mod dispatch;
mod error;
pub mod inspect;
mod kind;
pub mod personal_access_tokens;
pub mod presented;
pub mod refresh_tokens;
pub mod sessions;
pub mod usage;
mod user_bound;

pub use deps::{CredentialDeps, InspectionCache};
pub use dispatch::revoke;
pub use error::AuthnError;
pub use kind::{validate_name, Revoked, Revoker};
pub use presented::PresentedCredential;
