//! Reading the audit log: who issued, first used, rotated and revoked what,
//! and every sign-in and failure.

use entity::audit_events::Model as AuditEvent;

use super::AccountDeps;
use crate::domain::{Permission, Principal};
use crate::error::AppError;
use crate::store::audit::{self, AuditFilter};
use crate::store::Page;

/// Events matching `filter`, newest first, for a caller holding `audit:read`.
pub async fn list(
    deps: &AccountDeps<'_>,
    caller: &Principal,
    filter: AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Page<AuditEvent>, AppError> {
    caller.require(Permission::AuditRead)?;
    Ok(audit::list(deps.credentials.db.read(), filter, before, limit).await?)
}
