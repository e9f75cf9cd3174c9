//! PHC strings: an argon2id hash computed into, and checked against, a block
//! array the caller provides (from the pool), never one argon2 allocates itself.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
/// argon2's default tag length: what `hash_password` wrote into every stored hash.
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;
/// Room for any PHC salt once decoded (at most 64 base64 characters).
const SALT_BUF_LEN: usize = 64;

/// The OWASP parameters every new hash is made with (m = 19 MiB, t = 2, p = 1).
pub(super) fn owasp_params() -> Result<Params, anyhow::Error> {
    Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))
}

/// Hashes into a PHC string with `memory` as argon2's block array.
///
/// New passwords go through the pool too, rather than through `hash_password`
/// (which allocates its own array): hashing is rare (user creation, password
/// change) but would otherwise bring back the very allocations the pool removes,
/// and building the PHC string from the raw output takes only a few lines.
pub(super) fn hash_in(
    params: &Params,
    password: &[u8],
    memory: &mut [Block],
) -> Result<String, anyhow::Error> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; SALT_BUF_LEN];
    let salt_bytes = salt
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = Output::init_with(OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(password, salt_bytes, out, &mut *memory)
            .map_err(Into::into)
    })
    .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks `password` against the PHC string `stored`, with `memory` as argon2's
/// block array, comparing the tags in constant time.
///
/// Stored hashes carry our parameters. One that does not parse, or whose
/// parameters would need more memory or more work than ours, counts as a wrong
/// password rather than being computed in a fresh allocation: a tampered or
/// foreign row must not lift the memory bound. Lighter argon2 hashes (an older
/// setting, or another OWASP variant such as m = 12 MiB, t = 3) still verify.
pub(super) fn verify_in(
    ours: &Params,
    password: &[u8],
    stored: &str,
    memory: &mut [Block],
) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed.salt,
        parsed.hash.as_ref(),
    ) else {
        return false;
    };
    // As argon2's own verifier: no version means the current one.
    let Ok(version) = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if !within(&params, ours) {
        tracing::warn!(
            m = params.m_cost(),
            t = params.t_cost(),
            p = params.p_cost(),
            "a stored password hash needs more memory or work than the configured argon2 parameters: refused"
        );
        return false;
    }
    let mut salt_buf = [0u8; SALT_BUF_LEN];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut tag = [0u8; Output::MAX_LENGTH];
    let Some(tag) = tag.get_mut(..expected.len()) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, tag, memory)
        .is_ok()
        && bool::from(tag.ct_eq(expected.as_bytes()))
}

/// Whether a hash with `params` fits in a pooled array and costs no more than ours.
fn within(params: &Params, ours: &Params) -> bool {
    let work = |p: &Params| p.block_count() as u64 * u64::from(p.t_cost());
    params.block_count() <= ours.block_count() && work(params) <= work(ours)
}

#[cfg(test)]
pub(super) const OWASP_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    fn ours() -> Params {
        owasp_params().unwrap()
    }

    fn memory() -> Vec<Block> {
        vec![Block::new(); ours().block_count()]
    }

    /// A hash made by argon2's own `hash_password`, as every stored hash was made
    /// before the pool.
    fn argon2_hash(password: &str, params: Params) -> String {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    #[test]
    fn pooled_hashes_and_argon2s_own_hashes_verify_each_other() {
        let mut memory = memory();
        let ours = ours();
        let pooled = hash_in(&ours, b"correct horse", &mut memory).unwrap();
        assert!(pooled.starts_with(OWASP_PREFIX), "{pooled}");
        let parsed = PasswordHash::new(&pooled).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        // A stored hash from before the pool, verified in a used array.
        let stored = argon2_hash("correct horse", ours.clone());
        assert!(stored.starts_with(OWASP_PREFIX), "{stored}");
        assert!(verify_in(&ours, b"correct horse", &stored, &mut memory));
        assert!(!verify_in(&ours, b"correct horsE", &stored, &mut memory));
    }

    #[test]
    fn malformed_and_heavier_hashes_never_verify() {
        let ours = ours();
        let mut memory = memory();
        let good = argon2_hash("correct horse", ours.clone());
        let heavier_memory = argon2_hash(
            "correct horse",
            Params::new(MEMORY_KIB * 2, ITERATIONS, PARALLELISM, None).unwrap(),
        );
        let heavier_work = argon2_hash(
            "correct horse",
            Params::new(MEMORY_KIB, ITERATIONS + 1, PARALLELISM, None).unwrap(),
        );
        let (head, tag) = good.rsplit_once('$').unwrap();
        let cases = [
            ("empty", String::new()),
            ("not PHC", "correct horse".to_owned()),
            ("no tag", format!("{head}$")),
            (
                "no salt or tag",
                OWASP_PREFIX.trim_end_matches('$').to_owned(),
            ),
            ("truncated tag", format!("{head}${}", &tag[..tag.len() - 4])),
            ("unknown parameter", good.replace("p=1", "p=1,x=2")),
            ("unknown algorithm", good.replace("argon2id", "scrypt")),
            (
                "bcrypt",
                "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
            ),
            ("twice the memory", heavier_memory),
            ("one more pass", heavier_work),
        ];
        for (case, stored) in cases {
            assert!(
                !verify_in(&ours, b"correct horse", &stored, &mut memory),
                "{case}: {stored}"
            );
        }
        assert!(
            verify_in(&ours, b"correct horse", &good, &mut memory),
            "the well-formed hash, after the refusals"
        );
    }

    #[test]
    fn lighter_argon2_hashes_still_verify_in_the_pooled_memory() {
        let ours = ours();
        let mut memory = memory();
        let lighter = argon2_hash(
            "correct horse",
            Params::new(12 * 1024, 3, PARALLELISM, None).unwrap(),
        );
        assert!(verify_in(&ours, b"correct horse", &lighter, &mut memory));
        assert!(!verify_in(&ours, b"correct horsE", &lighter, &mut memory));
    }
}
