//! UnitService handlers.

use ducha_proto::v1::{self as pb, unit_service_server::UnitService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{enum_in, time_out};
use crate::app::App;
use crate::domain::unit::{Unit, UnitKind};
use crate::domain::validate::Input;

pub struct Units {
    pub app: App,
}

fn kind_in(raw: i32) -> Input<UnitKind> {
    enum_in(raw, |k: pb::UnitKind| match k {
        pb::UnitKind::Unspecified => None,
        pb::UnitKind::City => Some(UnitKind::City),
        pb::UnitKind::County => Some(UnitKind::County),
        pb::UnitKind::DevelopmentZone => Some(UnitKind::DevelopmentZone),
        pb::UnitKind::Department => Some(UnitKind::Department),
    })
}

fn unit_out(u: Unit) -> pb::Unit {
    pb::Unit {
        code: u.code,
        name: u.name,
        kind: match u.kind {
            UnitKind::City => pb::UnitKind::City,
            UnitKind::County => pb::UnitKind::County,
            UnitKind::DevelopmentZone => pb::UnitKind::DevelopmentZone,
            UnitKind::Department => pb::UnitKind::Department,
        } as i32,
        parent_code: u.parent_code.unwrap_or_default(),
        active: u.active,
        create_time: time_out(u.created_at),
        update_time: time_out(u.updated_at),
    }
}

#[tonic::async_trait]
impl UnitService for Units {
    async fn list_units(
        &self,
        req: Request<pb::ListUnitsRequest>,
    ) -> Result<Response<pb::ListUnitsResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let units = self
            .app
            .list_units(&c, r.include_inactive, kind_in(r.kind))
            .await?;
        Ok(Response::new(pb::ListUnitsResponse {
            units: units.into_iter().map(unit_out).collect(),
        }))
    }

    async fn get_unit(
        &self,
        req: Request<pb::GetUnitRequest>,
    ) -> Result<Response<pb::GetUnitResponse>, Status> {
        let c = caller(&req)?;
        let u = self.app.get_unit(&c, &req.get_ref().code).await?;
        Ok(Response::new(pb::GetUnitResponse {
            unit: Some(unit_out(u)),
        }))
    }

    async fn create_unit(
        &self,
        req: Request<pb::CreateUnitRequest>,
    ) -> Result<Response<pb::CreateUnitResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let u = self
            .app
            .create_unit(&c, &r.code, &r.name, kind_in(r.kind), &r.parent_code)
            .await?;
        Ok(Response::new(pb::CreateUnitResponse {
            unit: Some(unit_out(u)),
        }))
    }

    async fn rename_unit(
        &self,
        req: Request<pb::RenameUnitRequest>,
    ) -> Result<Response<pb::RenameUnitResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let u = self.app.rename_unit(&c, &r.code, &r.name).await?;
        Ok(Response::new(pb::RenameUnitResponse {
            unit: Some(unit_out(u)),
        }))
    }

    async fn deactivate_unit(
        &self,
        req: Request<pb::DeactivateUnitRequest>,
    ) -> Result<Response<pb::DeactivateUnitResponse>, Status> {
        let c = caller(&req)?;
        let u = self.app.deactivate_unit(&c, &req.get_ref().code).await?;
        Ok(Response::new(pb::DeactivateUnitResponse {
            unit: Some(unit_out(u)),
        }))
    }
}
