//! The keys that sign and verify access tokens.
//!
//! The server signs with an Ed25519 key that it creates on first start in
//! the data directory (or that it is given by path). It verifies tokens
//! against its own public key and the configured public keys of trusted
//! external issuers, and only those: a key is found by the token's `kid`
//! among configured keys, never fetched from a URL named in a token, and
//! the algorithm is the key's, never the one the token claims.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use aws_lc_rs::{hkdf, hmac};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::token::{ACCESS_TOKEN_TYPE, AccessClaims};

/// Clock difference tolerated on exp and nbf.
pub const LEEWAY_SECS: u64 = 30;

/// An external identity provider whose tokens are accepted.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TrustedIssuer {
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// The `aud` its tokens must carry; the server's own audience if unset.
    #[serde(default)]
    pub audience: Option<String>,
    /// A JWKS file with its public keys.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// PEM files of its public keys; each key's `kid` is its file stem.
    #[serde(default)]
    pub pem_files: Vec<PathBuf>,
}

struct VerifyKey {
    key: DecodingKey,
    algorithm: Algorithm,
    issuer: String,
    audience: String,
    own: bool,
}

/// Signing key plus every key a token may be verified with, by `kid`.
pub struct KeyRing {
    signing: EncodingKey,
    signing_kid: String,
    public_jwk_x: String,
    issuer: String,
    audience: String,
    verify: HashMap<String, VerifyKey>,
    /// Signs the download links this server serves itself; derived from
    /// the signing key, so replicas sharing that key share this one.
    links: hmac::Key,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("signing_kid", &self.signing_kid)
            .field("issuer", &self.issuer)
            .field("verify_kids", &self.verify.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a token was refused; reported as UNAUTHENTICATED.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

impl KeyRing {
    /// Loads the signing key from `path`, creating it (mode 0600) when the
    /// file does not exist, and the keys of `trusted` issuers.
    pub fn load(
        path: &Path,
        issuer: &str,
        audience: &str,
        trusted: &[TrustedIssuer],
    ) -> anyhow::Result<KeyRing> {
        let pkcs8 = load_or_create_signing_key(path)?;
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|e| anyhow::anyhow!("{} is not an Ed25519 PKCS#8 key: {e}", path.display()))?;
        let public = pair.public_key().as_ref().to_vec();
        let signing_kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(&public)[..12]);
        let x = URL_SAFE_NO_PAD.encode(&public);
        let mut verify = HashMap::new();
        verify.insert(
            signing_kid.clone(),
            VerifyKey {
                key: DecodingKey::from_ed_components(&x)?,
                algorithm: Algorithm::EdDSA,
                issuer: issuer.to_string(),
                audience: audience.to_string(),
                own: true,
            },
        );
        for t in trusted {
            for (kid, key, algorithm) in load_trusted_keys(t)? {
                let entry = VerifyKey {
                    key,
                    algorithm,
                    issuer: t.issuer.clone(),
                    audience: t.audience.clone().unwrap_or_else(|| audience.to_string()),
                    own: false,
                };
                if verify.insert(kid.clone(), entry).is_some() {
                    bail!("key id {kid} of issuer {} is configured twice", t.issuer);
                }
            }
        }
        let links = hkdf::Salt::new(hkdf::HKDF_SHA256, b"ducha")
            .extract(&pkcs8)
            .expand(&[b"download links v1"], hmac::HMAC_SHA256)
            .map_err(|_| anyhow::anyhow!("deriving the link key failed"))?
            .into();
        Ok(KeyRing {
            links,
            signing: EncodingKey::from_ed_der(&pkcs8),
            signing_kid,
            public_jwk_x: x,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            verify,
        })
    }

    /// An unpadded base64url HMAC-SHA256 of `message`.
    pub fn sign_link(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.links, message.as_bytes()))
    }

    /// Whether `signature` is this server's signature of `message`,
    /// compared in constant time.
    pub fn verify_link(&self, message: &str, signature: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|tag| hmac::verify(&self.links, message.as_bytes(), &tag).is_ok())
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// The server's public key as a JWKS document, for relying services.
    pub fn public_jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
            "kid": self.signing_kid, "x": self.public_jwk_x,
        }]})
    }

    pub fn sign(&self, claims: &AccessClaims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_string());
        Ok(jsonwebtoken::encode(&header, claims, &self.signing)?)
    }

    /// Verifies signature, algorithm, type, issuer, audience, and expiry
    /// and not-before by the server's clock (`now`). Returns the claims and
    /// whether the token is the server's own.
    pub fn verify(
        &self,
        token: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(AccessClaims, bool), Rejected> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| Rejected(format!("malformed token: {e}")))?;
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| Rejected("token names no key (kid)".into()))?;
        let key = self
            .verify
            .get(kid)
            .ok_or_else(|| Rejected("token is signed by an unknown key".into()))?;
        if header.alg != key.algorithm {
            return Err(Rejected(format!(
                "token algorithm {:?} is not the key's algorithm {:?}",
                header.alg, key.algorithm
            )));
        }
        let typ_ok = match header.typ.as_deref() {
            Some(t) if t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) => true,
            // Identity providers commonly type access tokens plainly "JWT".
            Some(t) if !key.own && t.eq_ignore_ascii_case("JWT") => true,
            _ => false,
        };
        if !typ_ok {
            return Err(Rejected("token is not an access token (typ)".into()));
        }
        let mut v = Validation::new(key.algorithm);
        // Times are checked below by the server's own clock.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.set_issuer(&[&key.issuer]);
        v.set_audience(&[&key.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key.key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind::*;
            Rejected(match e.kind() {
                ExpiredSignature => "token has expired".into(),
                ImmatureSignature => "token is not valid yet".into(),
                InvalidAudience => "token is for another audience".into(),
                InvalidIssuer => "token has an unexpected issuer".into(),
                InvalidSignature => "token signature is invalid".into(),
                other => format!("token refused: {other:?}"),
            })
        })?;
        let (now, leeway) = (now.timestamp(), LEEWAY_SECS as i64);
        if data.claims.exp + leeway < now {
            return Err(Rejected("token has expired".into()));
        }
        if data.claims.nbf.is_some_and(|nbf| nbf - leeway > now) {
            return Err(Rejected("token is not valid yet".into()));
        }
        Ok((data.claims, key.own))
    }
}

const PEM_LABEL: &str = "PRIVATE KEY";

fn load_or_create_signing_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return pem_decode(&text, PEM_LABEL).with_context(|| format!("reading {}", path.display()));
    }
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| anyhow::anyhow!("generating the signing key failed"))?;
    let der = doc.as_ref().to_vec();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let pem = pem_encode(&der, PEM_LABEL);
    write_private(path, pem.as_bytes())?;
    tracing::info!(path = %path.display(), "created a new token signing key");
    Ok(der)
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("creating {}", path.display()))
}

fn pem_encode(der: &[u8], label: &str) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn pem_decode(text: &str, label: &str) -> anyhow::Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).context("no PEM block")? + begin.len();
    let stop = text[start..].find(&end).context("unterminated PEM block")? + start;
    let b64: String = text[start..stop].split_whitespace().collect();
    Ok(STANDARD.decode(b64)?)
}

fn load_trusted_keys(t: &TrustedIssuer) -> anyhow::Result<Vec<(String, DecodingKey, Algorithm)>> {
    let mut out = Vec::new();
    if let Some(path) = &t.jwks_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let set: JwkSet = serde_json::from_str(&text)
            .with_context(|| format!("parsing JWKS {}", path.display()))?;
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .with_context(|| format!("a key in {} has no kid", path.display()))?;
            let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                (Some(KeyAlgorithm::RS256), _) => Algorithm::RS256,
                (Some(KeyAlgorithm::ES256), _) => Algorithm::ES256,
                (Some(KeyAlgorithm::EdDSA), _) => Algorithm::EdDSA,
                (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                (None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
                (alg, _) => bail!(
                    "key {kid} in {}: unsupported algorithm {alg:?}",
                    path.display()
                ),
            };
            out.push((kid, DecodingKey::from_jwk(jwk)?, algorithm));
        }
    }
    for path in &t.pem_files {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let kid = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("PEM file name")?
            .to_string();
        let (key, algorithm) = if let Ok(k) = DecodingKey::from_ed_pem(&pem) {
            (k, Algorithm::EdDSA)
        } else if let Ok(k) = DecodingKey::from_ec_pem(&pem) {
            (k, Algorithm::ES256)
        } else if let Ok(k) = DecodingKey::from_rsa_pem(&pem) {
            (k, Algorithm::RS256)
        } else {
            bail!(
                "{} holds no Ed25519, P-256 or RSA public key",
                path.display()
            );
        };
        out.push((kid, key, algorithm));
    }
    if out.is_empty() {
        bail!("trusted issuer {} has no keys configured", t.issuer);
    }
    Ok(out)
}
