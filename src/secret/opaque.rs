//! The format of every opaque secret Trident generates:
//!
//! ```text
//! tri_live_ 0123456789abcdefghijklmnopqrstuvwxyzABCDEFG 0a1B2c
//! └prefix─┘ └──────── 43 base62 characters ──────────┘ └CRC32┘
//! ```
//!
//! The prefix names the kind (so secret scanners recognise a leak and Trident
//! knows where to look), 43 base62 characters carry 256 bits from the OS
//! CSPRNG, and a CRC32 of everything before it (6 base62 characters) lets a
//! mistyped or truncated secret be rejected before any database lookup.
//! Only the SHA-256 digest is ever stored.

use std::fmt;

use rand::rngs::OsRng;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest as _, Sha256};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random characters after the prefix: 43 × log2(62) ≈ 256 bits.
pub const BODY_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;
/// Characters of the random body shown in listings after the prefix.
const DISPLAY_BODY_CHARS: usize = 4;
const LAST_CHARS: usize = 4;

/// Every kind of opaque secret, each with its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    LiveApiKey,
    TestApiKey,
    PersonalAccessToken,
    ClientSecret,
    RefreshToken,
    /// The cookie of a signed-in web UI browser.
    BrowserSession,
}

impl SecretKind {
    pub const ALL: [SecretKind; 6] = [
        SecretKind::LiveApiKey,
        SecretKind::TestApiKey,
        SecretKind::PersonalAccessToken,
        SecretKind::ClientSecret,
        SecretKind::RefreshToken,
        SecretKind::BrowserSession,
    ];

    pub const fn prefix(self) -> &'static str {
        match self {
            SecretKind::LiveApiKey => "tri_live_",
            SecretKind::TestApiKey => "tri_test_",
            SecretKind::PersonalAccessToken => "tri_pat_",
            SecretKind::ClientSecret => "tri_cs_",
            SecretKind::RefreshToken => "tri_rt_",
            SecretKind::BrowserSession => "tri_ses_",
        }
    }

    fn from_prefix_of(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| s.starts_with(kind.prefix()))
    }

    const fn total_len(self) -> usize {
        self.prefix().len() + BODY_LEN + CHECKSUM_LEN
    }
}

/// SHA-256 of a secret: what the database stores and looks up.
#[derive(Clone, PartialEq, Eq)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time comparison with a stored digest.
    pub fn verify(&self, stored: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(stored).into()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest(..)")
    }
}

/// A syntactically valid secret of a known kind. `Debug` never prints it.
pub struct OpaqueSecret {
    kind: SecretKind,
    value: SecretString,
}

impl OpaqueSecret {
    /// Generates a new secret of `kind` from the OS CSPRNG.
    pub fn generate(kind: SecretKind) -> Self {
        let mut s = String::with_capacity(kind.total_len());
        s.push_str(kind.prefix());
        s.push_str(&random_base62(BODY_LEN));
        let checksum = checksum(&s);
        s.push_str(&checksum);
        Self {
            kind,
            value: SecretString::from(s),
        }
    }

    /// Recognises a presented secret by prefix, length, alphabet and checksum,
    /// without any I/O. `None` for anything malformed.
    pub fn parse(presented: &str) -> Option<Self> {
        let kind = SecretKind::from_prefix_of(presented)?;
        if presented.len() != kind.total_len() {
            return None;
        }
        let (head, sum) = presented.split_at(kind.prefix().len() + BODY_LEN);
        let body = &head[kind.prefix().len()..];
        if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let expected = checksum(head);
        let matches: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), sum.as_bytes()).into();
        matches.then(|| Self {
            kind,
            value: SecretString::from(presented.to_owned()),
        })
    }

    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    pub fn digest(&self) -> Digest {
        Digest(Sha256::digest(self.value.expose_secret().as_bytes()).into())
    }

    /// The non-secret start shown in listings, e.g. `tri_live_AbC1`.
    pub fn display_prefix(&self) -> String {
        let s = self.value.expose_secret();
        s[..self.kind.prefix().len() + DISPLAY_BODY_CHARS].to_owned()
    }

    /// The last characters, shown in listings to tell secrets apart.
    pub fn last_chars(&self) -> String {
        let s = self.value.expose_secret();
        s[s.len() - LAST_CHARS..].to_owned()
    }

    /// The secret itself, to be shown once to its owner.
    pub fn reveal(&self) -> &str {
        self.value.expose_secret()
    }
}

impl fmt::Debug for OpaqueSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpaqueSecret({:?}, [redacted])", self.kind)
    }
}

/// `len` random base62 characters from the OS CSPRNG, for public identifiers.
pub fn random_base62(len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

fn checksum(head: &str) -> String {
    let mut n = crc32fast::hash(head.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_secrets_parse_back_as_their_kind() {
        for kind in SecretKind::ALL {
            let secret = OpaqueSecret::generate(kind);
            let parsed = OpaqueSecret::parse(secret.reveal()).expect("round trip");
            assert_eq!(parsed.kind(), kind);
            assert!(parsed.digest().verify(secret.digest().as_bytes()));
            assert!(secret.reveal().starts_with(kind.prefix()));
        }
    }

    #[test]
    fn prefixes_are_distinct_and_none_is_a_prefix_of_another() {
        for a in SecretKind::ALL {
            for b in SecretKind::ALL {
                if a != b {
                    assert!(!a.prefix().starts_with(b.prefix()), "{a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn malformed_secrets_are_rejected_before_any_lookup() {
        let good = OpaqueSecret::generate(SecretKind::LiveApiKey)
            .reveal()
            .to_owned();
        let mut flipped = good.clone().into_bytes();
        let i = SecretKind::LiveApiKey.prefix().len() + 3;
        flipped[i] = if flipped[i] == b'a' { b'b' } else { b'a' };
        let cases = [
            ("truncated", good[..good.len() - 1].to_owned()),
            ("extended", format!("{good}x")),
            ("checksum broken", String::from_utf8(flipped).unwrap()),
            ("wrong prefix", good.replacen("tri_live_", "tri_tset_", 1)),
            (
                "other kind's prefix",
                good.replacen("tri_live_", "tri_test_", 1),
            ),
            ("empty", String::new()),
            ("non-ascii", good.replacen('A', "Ä", 1)),
        ];
        for (name, presented) in cases {
            if presented == good {
                continue;
            }
            assert!(OpaqueSecret::parse(&presented).is_none(), "case {name}");
        }
    }

    #[test]
    fn display_parts_never_reveal_the_body() {
        let secret = OpaqueSecret::generate(SecretKind::PersonalAccessToken);
        assert_eq!(secret.display_prefix().len(), "tri_pat_".len() + 4);
        assert_eq!(secret.last_chars().len(), 4);
        assert!(!format!("{secret:?}").contains(secret.reveal()));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = OpaqueSecret::parse(&s);
        }

        #[test]
        fn random_bodies_with_a_real_prefix_are_rejected(body in "[0-9A-Za-z]{49}") {
            // A random string only passes when its CRC32 happens to match: 1 in 62^6.
            let presented = format!("tri_pat_{body}");
            let recomputed = checksum(&presented[..presented.len() - CHECKSUM_LEN]);
            prop_assume!(!presented.ends_with(&recomputed));
            prop_assert!(OpaqueSecret::parse(&presented).is_none());
        }
    }
}
