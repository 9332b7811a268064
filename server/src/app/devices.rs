//! Phones' attestation keys, and checking a capture's signature.

use super::App;
use super::evidence::UPLOAD_ROLES;
use crate::domain::access::Caller;
use crate::domain::attestation::{self, Attestation};
use crate::domain::evidence::{self, Upload};
use crate::domain::validate::Violations;
use crate::error::Result;

impl App {
    /// Registers the key a phone signs its captures with, for the caller.
    pub async fn register_device(
        &self,
        caller: &Caller,
        device_id: &str,
        public_key: &[u8],
    ) -> Result<chrono::DateTime<chrono::Utc>> {
        caller.require(UPLOAD_ROLES)?;
        let mut v = Violations::new();
        v.required_text("device_id", device_id, evidence::DEVICE_ID_MAX);
        if public_key.len() != crate::auth::device::PUBLIC_KEY_LEN {
            v.add("public_key", "must be a raw 32-byte Ed25519 public key");
        }
        v.finish()?;
        let now = self.now();
        self.store
            .put_device(&caller.subject, device_id.trim(), public_key, now)
            .await?;
        tracing::info!(user = %caller.subject, device = %device_id, "device key registered");
        Ok(now)
    }

    /// Checks the capture signature of an upload against the uploader's
    /// registered device.
    pub(super) async fn check_attestation(&self, up: &Upload) -> Result<Attestation> {
        let c = &up.request.capture;
        if c.attestation_signature.is_empty() {
            return Ok(Attestation::Unattested);
        }
        let Some(key) = self.store.device_key(&up.uploader, &c.device_id).await? else {
            return Ok(Attestation::Invalid {
                reason: format!(
                    "device {} is not registered for {}",
                    c.device_id, up.uploader
                ),
            });
        };
        let message = attestation::payload(
            &up.request.sha256,
            c.device_time,
            c.location.as_ref(),
            &c.device_id,
        );
        let signature = hex::decode(&c.attestation_signature).unwrap_or_default();
        Ok(
            if crate::auth::device::verify(&key, message.as_bytes(), &signature) {
                Attestation::Attested {
                    device_id: c.device_id.clone(),
                    device_user: up.uploader.clone(),
                }
            } else {
                Attestation::Invalid {
                    reason: "the signature does not match these bytes, time, place and device"
                        .into(),
                }
            },
        )
    }
}
