//! The petition register: figures per unit, the CSV export, samples for
//! spot checks, and moving sealed personal data to a new master key.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::App;
use super::petitions::{FIGURES, PetitionView};
use crate::auth::seal::Sealer;
use crate::domain::access::{Caller, Role};
use crate::domain::calendar::china_date;
use crate::domain::page;
use crate::domain::petition::PetitionFilter;
use crate::domain::petition::{PetitionCursor, UnitFigures};
use crate::error::{Error, Result};
use crate::store::{SealedColumn, Ts};

impl App {
    /// A random sample of closed key petitions not yet spot-checked.
    pub async fn spot_check_sample(
        &self,
        caller: &Caller,
        units: Option<Vec<String>>,
        count: u32,
    ) -> Result<Vec<PetitionView>> {
        caller.require(&[Role::Supervisor])?;
        if !(1..=100).contains(&count) {
            return Err(Error::invalid("count", "must be 1 to 100"));
        }
        let units = caller.narrow_units(units);
        let found = self
            .store
            .spot_check_sample(units.as_deref(), i64::from(count))
            .await?;
        let mut out = Vec::with_capacity(found.len());
        for p in found {
            out.push(self.petition_view(caller, p, false).await?);
        }
        Ok(out)
    }

    /// Figures per unit of petitions received in [from, to] (China's dates).
    pub async fn petition_figures(
        &self,
        caller: &Caller,
        units: Option<Vec<String>>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UnitFigures>> {
        caller.require(FIGURES)?;
        if to < from {
            return Err(Error::invalid("to_date", "must not be before from_date"));
        }
        let units = caller.narrow_units(units);
        let start = china_midnight(from);
        let end = china_midnight(to + Days::new(1));
        self.store
            .petition_figures(units.as_deref(), start, end, china_date(self.now()))
            .await
    }

    /// The petition register as CSV (UTF-8 with BOM, Chinese headers),
    /// without any personal data.
    pub async fn export_petitions(
        &self,
        caller: &Caller,
        filter: PetitionFilter,
    ) -> Result<Vec<u8>> {
        caller.require(FIGURES)?;
        let today = china_date(self.now());
        let mut petitions = Vec::new();
        let mut cursor = None;
        loop {
            let found = self
                .petitions_in_scope(caller, filter.clone(), cursor, page::MAX_PAGE_SIZE)
                .await?;
            cursor = found.last().map(|p| PetitionCursor {
                received_at: p.intake.received_at,
                id: p.id,
            });
            let full = found.len() == page::MAX_PAGE_SIZE;
            petitions.extend(found);
            if !full {
                break;
            }
        }
        let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        let fail = |e: csv::Error| Error::internal(format!("writing the register: {e}"));
        out.write_record([
            "序号",
            "编号",
            "来源渠道",
            "收到时间",
            "类别",
            "内容",
            "责任单位代码",
            "企业信用代码",
            "匿名",
            "重点",
            "状态",
            "受理期限",
            "答复期限",
            "答复逾期",
            "退回次数",
            "是否满意",
            "并入",
        ])
        .map_err(fail)?;
        for (n, p) in petitions.iter().enumerate() {
            let yes = |b: bool| if b { "是" } else { "否" }.to_string();
            out.write_record([
                (n + 1).to_string(),
                p.id.to_string(),
                p.intake.channel.to_string(),
                china_time(p.intake.received_at),
                p.intake.category.to_string(),
                p.intake.content.clone(),
                p.intake.unit_code.clone(),
                p.intake.credit_code.clone().unwrap_or_default(),
                yes(p.is_anonymous()),
                yes(p.is_key),
                p.state.shown(),
                p.accept_due.to_string(),
                p.reply_due.map(|d| d.to_string()).unwrap_or_default(),
                yes(p.reply_overdue_since.is_some() || p.reply_overdue(today)),
                p.progress.send_backs.to_string(),
                match &p.progress.feedback {
                    Some(f) => yes(f.satisfied),
                    None => String::new(),
                },
                p.merged_into.map(|m| m.to_string()).unwrap_or_default(),
            ])
            .map_err(fail)?;
        }
        out.into_inner()
            .map_err(|e| Error::internal(format!("writing the register: {e}")))
    }
}

impl super::Core {
    /// Moves every sealed value (complainants, officials) to the current
    /// master key. Returns (moved, already current).
    pub async fn rewrap_personal_data(&self, sealer: &Sealer) -> Result<(usize, usize)> {
        let (mut moved, mut current) = (0, 0);
        for col in SealedColumn::ALL {
            for (id, sealed) in self.store.sealed_values(col).await? {
                match sealer.rewrap(&sealed) {
                    Ok(Some(new)) => {
                        if self.store.reseal(col, id, &sealed, &new).await? {
                            moved += 1;
                        }
                    }
                    Ok(None) => current += 1,
                    Err(e) => return Err(Error::internal(format!("{} {id}: {e}", col.record()))),
                }
            }
        }
        Ok((moved, current))
    }
}

/// Midnight of `day` in China (UTC+8), as stored.
pub(crate) fn china_midnight(day: NaiveDate) -> Ts {
    let t = day.and_hms_opt(0, 0, 0).expect("midnight exists") - chrono::TimeDelta::hours(8);
    Ts(t.and_utc())
}

fn china_time(t: DateTime<Utc>) -> String {
    (t + chrono::TimeDelta::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
