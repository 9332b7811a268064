//! EventService handlers.

use std::pin::Pin;

use ducha_proto::v1::{self as pb, event_service_server::EventService};
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::caller;
use super::convert::{time_out, units_filter_in};
use crate::app::App;
use crate::domain::event::Event;
use crate::domain::webhook::{Delivery, Webhook};

pub struct Events {
    pub app: App,
}

pub(super) fn event_out(e: Event) -> pb::Event {
    pb::Event {
        id: e.id,
        time: time_out(e.at),
        kind: e.kind,
        subject_kind: e.subject_kind,
        subject_id: e.subject_id.to_string(),
        unit_code: e.unit_code,
        data_json: e.data.to_string(),
    }
}

fn webhook_out(w: Webhook) -> pb::Webhook {
    pb::Webhook {
        id: w.id.to_string(),
        url: w.url,
        event_kinds: w.event_kinds,
        delivered_through: w.delivered_through,
        failures: w.failures,
        next_attempt_time: time_out(w.next_attempt_at),
        create_user: w.created_by,
        create_time: time_out(w.created_at),
    }
}

fn delivery_out(d: Delivery) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        event_id: d.event_id,
        time: time_out(d.at),
        attempt: d.attempt,
        delivered: d.delivered,
        status_code: d.status_code,
        error: d.error,
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EventService for Events {
    type WatchStream = WatchStream;

    async fn watch(
        &self,
        req: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let c = caller(&req)?;
        let r = req.into_inner();
        let events = self.app.watch_events(
            &c,
            r.after_id,
            r.event_kinds,
            units_filter_in(&r.unit_codes),
        )?;
        let out = events.map(|e| {
            e.map(|e| pb::WatchResponse {
                event: Some(event_out(e)),
            })
            .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(out)))
    }

    async fn create_webhook(
        &self,
        req: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        let c = caller(&req)?;
        let w = req.into_inner().webhook.unwrap_or_default();
        let (w, secret) = self.app.create_webhook(&c, &w.url, w.event_kinds).await?;
        Ok(Response::new(pb::CreateWebhookResponse {
            webhook: Some(webhook_out(w)),
            secret,
        }))
    }

    async fn list_webhooks(
        &self,
        req: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let c = caller(&req)?;
        let hooks = self.app.list_webhooks(&c).await?;
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: hooks.into_iter().map(webhook_out).collect(),
        }))
    }

    async fn delete_webhook(
        &self,
        req: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        let c = caller(&req)?;
        self.app.delete_webhook(&c, &req.get_ref().id).await?;
        Ok(Response::new(pb::DeleteWebhookResponse {}))
    }

    async fn list_webhook_deliveries(
        &self,
        req: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let deliveries = self
            .app
            .webhook_deliveries(&c, &r.webhook_id, r.page_size)
            .await?;
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            deliveries: deliveries.into_iter().map(delivery_out).collect(),
        }))
    }
}
