//! Opaque credentials Trident generates: their format, and the use cases that
//! issue, verify and revoke them.

pub mod api_keys;
pub mod browser_sessions;
pub mod clients;
pub mod delegation;
pub mod pats;
pub mod sessions;
pub mod usage;

/// A credential's or client's name: see [`crate::domain::check_label`].
pub fn validate_name(name: &str) -> Result<(), crate::error::AppError> {
    crate::domain::check_label(name).map_err(|e| crate::error::AppError::validation("name", e.0))
}
