//! Signing keys: generation, encryption at rest, rotation and the JWKS.

mod algorithm;
mod master_key;
mod ring;

pub use algorithm::{GeneratedKey, SigningAlgorithm};
pub use master_key::MasterKey;
pub use ring::{KeyRing, VerificationKey};
