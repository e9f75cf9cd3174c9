//! Signing keys: generation, encryption at rest, rotation and the JWKS, and
//! the JWTs they sign and verify.

mod algorithm;
pub mod jwt;
mod master_key;
mod ring;

pub use algorithm::{GeneratedKey, SigningAlgorithm};
pub use master_key::{MasterKey, MasterKeySource};
pub use ring::{KeyRing, VerificationKey};
