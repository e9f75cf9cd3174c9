use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// JOSE algorithm name: `ES256`, `RS256` or `EdDSA`.
    pub algorithm: String,
    /// The public JWK as JSON.
    #[sea_orm(column_type = "Text")]
    pub public_jwk: String,
    /// Nonce followed by the XChaCha20-Poly1305 ciphertext of the PKCS#8 private key.
    pub private_key_ciphertext: Vec<u8>,
    pub created_at: DateTimeUtc,
    /// When the key stopped signing; `None` for the active key.
    pub retired_at: Option<DateTimeUtc>,
    /// Until when a retired key's public part stays in the JWKS.
    pub publish_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
