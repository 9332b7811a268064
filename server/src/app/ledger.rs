//! Figures and the rectification ledger (整改台账) per campaign and unit,
//! for the written feedback to each county and to the discipline
//! commission.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{ANY_ROLE, App};
use crate::domain::access::Caller;
use crate::domain::calendar::china_date;
use crate::domain::statistics::{self, LedgerRow, UnitStats};
use crate::error::{Error, Result};

/// Items due within this many days count as due soon.
pub const DUE_SOON_DAYS: u32 = 7;

impl App {
    async fn ledger(
        &self,
        caller: &Caller,
        campaign: Option<Uuid>,
        units: Option<Vec<String>>,
    ) -> Result<Vec<LedgerRow>> {
        caller.require(ANY_ROLE)?;
        let units = caller.narrow_units(units);
        self.store.ledger_rows(campaign, units.as_deref()).await
    }

    /// Figures per unit of the items of `campaign` (all when None).
    pub async fn rectification_statistics(
        &self,
        caller: &Caller,
        campaign: Option<Uuid>,
        units: Option<Vec<String>>,
    ) -> Result<Vec<UnitStats>> {
        let rows = self.ledger(caller, campaign, units).await?;
        let today = china_date(self.now());
        let from = rows
            .iter()
            .map(|r| r.item.assigned_on)
            .min()
            .unwrap_or(today);
        let to = rows
            .iter()
            .filter_map(|r| r.item.signed_off_at.map(china_date))
            .max()
            .unwrap_or(today);
        let calendar = self.store.calendar(from, to).await?;
        Ok(statistics::tally(&rows, today, &calendar, DUE_SOON_DAYS))
    }

    /// The ledger as CSV (UTF-8 with a byte-order mark, so that
    /// spreadsheet programs read the Chinese text): one row per item.
    pub async fn rectification_ledger_csv(
        &self,
        caller: &Caller,
        campaign: Option<Uuid>,
        units: Option<Vec<String>>,
    ) -> Result<Vec<u8>> {
        let rows = self.ledger(caller, campaign, units).await?;
        let today = china_date(self.now());
        let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        let fail = |e: csv::Error| Error::internal(format!("writing the ledger: {e}"));
        out.write_record([
            "序号",
            "责任单位代码",
            "责任单位",
            "问题",
            "问题类别",
            "环境要素",
            "严重程度",
            "整改要求",
            "交办日期",
            "整改期限",
            "状态",
            "是否逾期",
            "退回次数",
            "销号人",
            "销号日期",
            "问题编号",
            "整改事项编号",
        ])
        .map_err(fail)?;
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        for (n, r) in rows.iter().enumerate() {
            let i = &r.item;
            out.write_record([
                (n + 1).to_string(),
                i.unit_code.clone(),
                r.unit_name.clone(),
                r.finding_title.clone(),
                r.category.as_str().to_string(),
                r.medium.as_str().to_string(),
                r.severity.as_str().to_string(),
                i.requirement.clone(),
                i.assigned_on.to_string(),
                i.due_date.to_string(),
                i.state.shown(),
                if i.is_overdue(today) { "是" } else { "否" }.to_string(),
                i.rejections.to_string(),
                i.signed_off_by.clone().unwrap_or_default(),
                date(i.signed_off_at.map(china_date)),
                i.finding_id.to_string(),
                i.id.to_string(),
            ])
            .map_err(fail)?;
        }
        out.into_inner()
            .map_err(|e| Error::internal(format!("writing the ledger: {e}")))
    }
}
