//! AuthService handlers.

use ducha_proto::v1::{self as pb, auth_service_server::AuthService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{role_out, time_out};
use crate::app::{App, TokenPair};
use crate::domain::access::Scope;

pub struct Auth {
    pub app: App,
}

fn pair_out(p: TokenPair) -> Option<pb::TokenPair> {
    Some(pb::TokenPair {
        access_token: p.access_token,
        access_token_expire_time: time_out(p.access_expires_at),
        refresh_token: p.refresh_token,
        refresh_token_expire_time: time_out(p.refresh_expires_at),
    })
}

#[tonic::async_trait]
impl AuthService for Auth {
    async fn login(
        &self,
        req: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let r = req.get_ref();
        let tokens = self.app.login(&r.username, &r.password).await?;
        Ok(Response::new(pb::LoginResponse {
            tokens: pair_out(tokens),
        }))
    }

    async fn refresh(
        &self,
        req: Request<pb::RefreshRequest>,
    ) -> Result<Response<pb::RefreshResponse>, Status> {
        let tokens = self.app.refresh(&req.get_ref().refresh_token).await?;
        Ok(Response::new(pb::RefreshResponse {
            tokens: pair_out(tokens),
        }))
    }

    async fn logout(
        &self,
        req: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        let c = caller(&req)?;
        self.app.logout(&c, &req.get_ref().refresh_token).await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn who_am_i(
        &self,
        req: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let c = caller(&req)?;
        let (unit_codes, all_units) = match &c.scope {
            Scope::All => (vec![], true),
            Scope::Units(u) => (u.iter().cloned().collect(), false),
        };
        Ok(Response::new(pb::WhoAmIResponse {
            subject: c.subject,
            role: role_out(c.role) as i32,
            unit_codes,
            all_units,
            issuer: c.issuer,
            expire_time: time_out(c.expires_at),
        }))
    }
}
