//! EnterpriseService handlers.

use ducha_proto::v1::{self as pb, enterprise_service_server::EnterpriseService};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{
    date_in, date_out, location_in, location_out, named_enum_in, named_enum_out, time_out,
    units_filter_in,
};
use crate::app::App;
use crate::domain::enterprise::{
    Accident, AccidentDraft, AccidentLevel, AccidentUpdate, Enterprise, EnterpriseDraft,
};
use crate::domain::rectification::AccidentConditions;

pub struct Enterprises {
    pub app: App,
}

fn enterprise_out(e: Enterprise) -> pb::Enterprise {
    let i = e.info;
    pb::Enterprise {
        credit_code: i.credit_code,
        name: i.name,
        address: i.address,
        location: i.location.map(location_out),
        unit_code: i.unit_code,
        publicly_listed: e.listing.is_some(),
        list_time: e.listing.as_ref().and_then(|l| time_out(l.at)),
        list_reason: e.listing.map(|l| l.reason).unwrap_or_default(),
        id: e.id.to_string(),
        create_user: e.created_by,
        create_time: time_out(e.created_at),
    }
}

fn conditions_in(c: Option<pb::AccidentConditions>) -> AccidentConditions {
    let c = c.unwrap_or_default();
    AccidentConditions {
        cause_established: c.cause_established,
        responsible_dealt_with: c.responsible_dealt_with,
        people_educated: c.people_educated,
        measures_in_place: c.measures_in_place,
    }
}

fn accident_out(a: Accident) -> pb::Accident {
    let etag = a.etag();
    let f = a.facts;
    let c = f.conditions;
    pb::Accident {
        id: a.id.to_string(),
        occurred_on: date_out(f.occurred_on),
        level: named_enum_out!(AccidentLevel, "ACCIDENT_LEVEL_", f.level),
        description: f.description,
        conditions: Some(pb::AccidentConditions {
            cause_established: c.cause_established,
            responsible_dealt_with: c.responsible_dealt_with,
            people_educated: c.people_educated,
            measures_in_place: c.measures_in_place,
        }),
        referred_to_judiciary: f.referred,
        referral_note: f.referral_note,
        record_user: a.recorded_by,
        record_time: time_out(a.recorded_at),
        evidence_ids: a.evidence.iter().map(|e| e.to_string()).collect(),
        etag,
    }
}

#[tonic::async_trait]
impl EnterpriseService for Enterprises {
    async fn register_enterprise(
        &self,
        req: Request<pb::RegisterEnterpriseRequest>,
    ) -> Result<Response<pb::RegisterEnterpriseResponse>, Status> {
        let c = caller(&req)?;
        let e = req.into_inner().enterprise.unwrap_or_default();
        let draft = EnterpriseDraft {
            credit_code: e.credit_code,
            name: e.name,
            address: e.address,
            location: e.location.map(location_in),
            unit_code: e.unit_code,
        };
        let e = self.app.register_enterprise(&c, draft).await?;
        Ok(Response::new(pb::RegisterEnterpriseResponse {
            enterprise: Some(enterprise_out(e)),
        }))
    }

    async fn get_enterprise(
        &self,
        req: Request<pb::GetEnterpriseRequest>,
    ) -> Result<Response<pb::GetEnterpriseResponse>, Status> {
        let c = caller(&req)?;
        let (e, accidents) = self
            .app
            .get_enterprise(&c, &req.get_ref().credit_code)
            .await?;
        Ok(Response::new(pb::GetEnterpriseResponse {
            enterprise: Some(enterprise_out(e)),
            accidents: accidents.into_iter().map(accident_out).collect(),
        }))
    }

    async fn list_enterprises(
        &self,
        req: Request<pb::ListEnterprisesRequest>,
    ) -> Result<Response<pb::ListEnterprisesResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let all = self
            .app
            .list_enterprises(&c, units_filter_in(&r.unit_codes), r.publicly_listed_only)
            .await?;
        Ok(Response::new(pb::ListEnterprisesResponse {
            enterprises: all.into_iter().map(enterprise_out).collect(),
        }))
    }

    async fn record_accident(
        &self,
        req: Request<pb::RecordAccidentRequest>,
    ) -> Result<Response<pb::RecordAccidentResponse>, Status> {
        let c = caller(&req)?;
        let r = req.into_inner();
        let a = r.accident.unwrap_or_default();
        let draft = AccidentDraft {
            occurred_on: date_in(a.occurred_on.as_ref()),
            level: named_enum_in!(AccidentLevel, "ACCIDENT_LEVEL_", AccidentLevel, a.level),
            description: a.description,
            conditions: conditions_in(a.conditions),
            referred: a.referred_to_judiciary,
            referral_note: a.referral_note,
            evidence: crate::domain::id::list("accident.evidence_ids", &a.evidence_ids)?,
        };
        let a = self.app.record_accident(&c, &r.credit_code, draft).await?;
        Ok(Response::new(pb::RecordAccidentResponse {
            accident: Some(accident_out(a)),
        }))
    }

    async fn update_accident(
        &self,
        req: Request<pb::UpdateAccidentRequest>,
    ) -> Result<Response<pb::UpdateAccidentResponse>, Status> {
        let c = caller(&req)?;
        let r = req.into_inner();
        let update = AccidentUpdate {
            conditions: conditions_in(r.conditions),
            referred: r.referred_to_judiciary,
            referral_note: r.referral_note,
            evidence: crate::domain::id::list("add_evidence_ids", &r.add_evidence_ids)?,
        };
        let a = self
            .app
            .update_accident(&c, &r.credit_code, &r.accident_id, &r.etag, update)
            .await?;
        Ok(Response::new(pb::UpdateAccidentResponse {
            accident: Some(accident_out(a)),
        }))
    }

    async fn put_on_public_list(
        &self,
        req: Request<pb::PutOnPublicListRequest>,
    ) -> Result<Response<pb::PutOnPublicListResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let e = self
            .app
            .put_on_public_list(&c, &r.credit_code, &r.reason)
            .await?;
        Ok(Response::new(pb::PutOnPublicListResponse {
            enterprise: Some(enterprise_out(e)),
        }))
    }

    async fn export_public_list(
        &self,
        req: Request<pb::ExportPublicListRequest>,
    ) -> Result<Response<pb::ExportPublicListResponse>, Status> {
        let c = caller(&req)?;
        let csv = self.app.public_list_csv(&c).await?;
        Ok(Response::new(pb::ExportPublicListResponse {
            csv: csv.into(),
            content_type: "text/csv; charset=utf-8".into(),
        }))
    }
}
