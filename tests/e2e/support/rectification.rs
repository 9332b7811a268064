//! Rectification items: assigned from a finding, then each step of the
//! workflow as one call that answers with the item or the refusal.

use chrono::NaiveDate;
use ducha_sdk::{Client, pb};

use super::dates::date;

/// An item to shut down and repair the clarifier, due in `working_days`.
pub fn item(working_days: i32) -> pb::RectificationItem {
    pb::RectificationItem {
        requirement: "停产整顿，修复二沉池，出水稳定达标后恢复生产".into(),
        working_days,
        ..Default::default()
    }
}

/// Assigns `item` to the unit of finding `finding_id`.
pub async fn assign(
    c: &Client,
    finding_id: &str,
    item: pb::RectificationItem,
) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .create_rectification_item(pb::CreateRectificationItemRequest {
            finding_id: finding_id.into(),
            item: Some(item),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// Acknowledges `i` as its unit.
pub async fn acknowledge(
    c: &Client,
    i: &pb::RectificationItem,
) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .acknowledge_item(pb::AcknowledgeItemRequest {
            id: i.id.clone(),
            etag: i.etag.clone(),
        })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// Reports progress `text` on `i`, with no evidence.
pub async fn report_progress(
    c: &Client,
    i: &pb::RectificationItem,
    text: &str,
) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .report_progress(pb::ReportProgressRequest {
            id: i.id.clone(),
            etag: i.etag.clone(),
            text: text.into(),
            evidence_ids: vec![],
        })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// Submits the fix of `i` with `evidence` as its AFTER photos.
pub async fn submit(
    c: &Client,
    i: &pb::RectificationItem,
    evidence: Vec<String>,
) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .submit_fix(pb::SubmitFixRequest {
            id: i.id.clone(),
            etag: i.etag.clone(),
            text: "二沉池已修复，出水检测达标".into(),
            evidence_ids: evidence,
        })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// Signs `i` off.
pub async fn approve(
    c: &Client,
    i: &pb::RectificationItem,
) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .approve_item(pb::ApproveItemRequest {
            id: i.id.clone(),
            etag: i.etag.clone(),
            comment: "现场复核属实，同意销号".into(),
        })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// Sends the fix of `i` back for `reason`.
pub async fn reject(
    c: &Client,
    i: &pb::RectificationItem,
    reason: &str,
) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .reject_item(pb::RejectItemRequest {
            id: i.id.clone(),
            etag: i.etag.clone(),
            reason: reason.into(),
        })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// Cancels `i` for `reason`.
pub async fn cancel(
    c: &Client,
    i: &pb::RectificationItem,
    reason: &str,
) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .cancel_item(pb::CancelItemRequest {
            id: i.id.clone(),
            etag: i.etag.clone(),
            reason: reason.into(),
        })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// Asks for the deadline of `i` to move to `to`.
pub async fn extend(
    c: &Client,
    i: &pb::RectificationItem,
    to: NaiveDate,
) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .request_extension(pb::RequestExtensionRequest {
            id: i.id.clone(),
            etag: i.etag.clone(),
            due_date: date(to),
            reason: "设备采购周期长".into(),
        })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// Grants or refuses the extension `i` asks for.
pub async fn decide(
    c: &Client,
    i: &pb::RectificationItem,
    grant: bool,
    reason: &str,
) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .decide_extension(pb::DecideExtensionRequest {
            id: i.id.clone(),
            etag: i.etag.clone(),
            grant,
            reason: reason.into(),
        })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// Item `id` as `c` reads it.
pub async fn get_item(c: &Client, id: &str) -> Result<pb::RectificationItem, tonic::Status> {
    c.rectification()
        .get_rectification_item(pb::GetRectificationItemRequest { id: id.into() })
        .await
        .map(|r| r.into_inner().item.unwrap())
}

/// The items `c` sees, as `req` filters them.
pub async fn list_items(
    c: &Client,
    req: pb::ListRectificationItemsRequest,
) -> Vec<pb::RectificationItem> {
    c.rectification()
        .list_rectification_items(req)
        .await
        .unwrap()
        .into_inner()
        .items
}

/// The state of `i`.
pub fn state(i: &pb::RectificationItem) -> pb::RectificationState {
    pb::RectificationState::try_from(i.state).unwrap()
}
