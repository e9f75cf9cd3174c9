//! `/api/v1`: Trident's management API. JSON in, JSON out, errors as RFC 9457
//! problem documents; every handler extracts, calls one use case, responds.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod clients;
pub mod leaked;
pub mod me;
pub mod personal_access_tokens;
pub mod roles;
pub mod users;
