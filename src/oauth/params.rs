//! Form parameters of the OAuth endpoints, read by RFC 6749's rules: each at
//! most once (§3.2), an empty value counts as omitted (§3.1).

use std::collections::HashMap;

use super::error::OAuthError;

/// The parameters of the OAuth endpoints (RFC 6749, 7009, 7662, 8707).
const KNOWN_PARAMETERS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "resource",
    "audience",
    "token",
    "token_type_hint",
];

/// Form parameters, each present at most once (§3.2: "MUST NOT be included more than once").
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if params.insert(name.to_string(), value.to_string()).is_some() {
                // Only a name we define is repeated back; anything else is input.
                let named = KNOWN_PARAMETERS.iter().find(|known| **known == name);
                return Err(OAuthError::InvalidRequest(match named {
                    Some(known) => format!("the `{known}` parameter is repeated"),
                    None => "a parameter is repeated".to_owned(),
                }));
            }
        }
        Ok(Self(params))
    }

    /// A parameter; an empty value counts as omitted (§3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_invalid_requests() {
        assert!(matches!(
            Params::parse(b"grant_type=a&grant_type=b"),
            Err(OAuthError::InvalidRequest(_))
        ));
        let params = Params::parse(b"grant_type=client_credentials&scope=").unwrap();
        assert_eq!(params.get("grant_type"), Some("client_credentials"));
        assert_eq!(
            params.get("scope"),
            None,
            "an empty value counts as omitted"
        );
    }
}
