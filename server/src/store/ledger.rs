//! SQL of the rectification ledger: items with their finding and unit.

use sqlx::QueryBuilder;
use uuid::Uuid;

use super::rectification::{COLUMNS, ItemRow, StoredItem};
use super::{Store, on_pool, push_unit_filter};
use crate::domain::finding::{Category, Medium, Severity};
use crate::domain::statistics::LedgerRow;
use crate::error::{Error, Result};

#[derive(sqlx::FromRow)]
struct Row {
    #[sqlx(flatten)]
    item: ItemRow,
    unit_name: String,
    finding_title: String,
    category: String,
    medium: String,
    severity: String,
}

impl Store {
    /// Items of `campaign` (all when None) in `units` (all when None), by
    /// unit, deadline and id.
    pub async fn ledger_rows(
        &self,
        campaign: Option<Uuid>,
        units: Option<&[String]>,
    ) -> Result<Vec<LedgerRow>> {
        let item_columns: Vec<String> = COLUMNS
            .split(',')
            .map(|c| format!("i.{}", c.trim()))
            .collect();
        let rows: Vec<Row> = on_pool!(self, report, |p| {
            let mut q = QueryBuilder::new(format!(
                "SELECT {}, u.name AS unit_name, f.title AS finding_title, f.category, f.medium, f.severity
                 FROM rectification_items i
                 JOIN findings f ON f.id = i.finding_id
                 JOIN units u ON u.code = i.unit_code
                 WHERE TRUE",
                item_columns.join(", ")
            ));
            if let Some(c) = campaign {
                q.push(" AND i.campaign_id = ").push_bind(c);
            }
            push_unit_filter!(q, units, "i.unit_code");
            q.push(" ORDER BY i.unit_code, i.due_date, i.id");
            q.build_query_as().fetch_all(p).await
        })?;
        rows.into_iter()
            .map(|r| {
                let bad = |what: &str| {
                    Error::internal(format!("finding of a ledger row has a bad {what}"))
                };
                Ok(LedgerRow {
                    category: Category::parse(&r.category).ok_or_else(|| bad("category"))?,
                    medium: Medium::parse(&r.medium).ok_or_else(|| bad("medium"))?,
                    severity: Severity::parse(&r.severity).ok_or_else(|| bad("severity"))?,
                    item: StoredItem::try_from(r.item)?.item,
                    unit_name: r.unit_name,
                    finding_title: r.finding_title,
                })
            })
            .collect()
    }
}
