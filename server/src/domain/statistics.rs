//! Figures per unit for the feedback report and the yearly assessment:
//! items by state, overdue, due soon, rejections, and the median number of
//! working days from assignment to sign-off.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::calendar::{Calendar, china_date};
use super::finding::{Category, Medium, Severity};
use super::rectification::{ItemState, RectificationItem};

/// One line of the rectification ledger (整改台账): an item with what its
/// finding says.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRow {
    pub item: RectificationItem,
    pub unit_name: String,
    pub finding_title: String,
    pub category: Category,
    pub medium: Medium,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnitStats {
    pub unit_code: String,
    pub unit_name: String,
    pub open: u32,
    pub in_progress: u32,
    pub submitted: u32,
    /// Signed off.
    pub verified: u32,
    pub cancelled: u32,
    pub overdue: u32,
    pub due_soon: u32,
    /// Submissions sent back by a verifier.
    pub rejections: u32,
    /// Median working days from assignment to sign-off; None before any.
    pub median_days_to_sign_off: Option<f64>,
}

impl UnitStats {
    pub fn total(&self) -> u32 {
        self.open + self.in_progress + self.submitted + self.verified + self.cancelled
    }
}

/// Working days from assignment to sign-off of a signed-off item.
pub fn days_to_sign_off(item: &RectificationItem, calendar: &Calendar) -> Option<u32> {
    let signed = china_date(item.signed_off_at?);
    Some(calendar.working_days_between(item.assigned_on, signed))
}

pub fn median(mut values: Vec<u32>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        f64::from(values[n / 2])
    } else {
        (f64::from(values[n / 2 - 1]) + f64::from(values[n / 2])) / 2.0
    })
}

/// Figures per unit, in unit code order.
pub fn tally(
    rows: &[LedgerRow],
    today: NaiveDate,
    calendar: &Calendar,
    due_soon_days: u32,
) -> Vec<UnitStats> {
    let mut units: BTreeMap<&str, (UnitStats, Vec<u32>)> = BTreeMap::new();
    for r in rows {
        let i = &r.item;
        let (s, days) = units.entry(i.unit_code.as_str()).or_insert_with(|| {
            (
                UnitStats {
                    unit_code: i.unit_code.clone(),
                    unit_name: r.unit_name.clone(),
                    ..Default::default()
                },
                Vec::new(),
            )
        });
        match i.state {
            ItemState::Open => s.open += 1,
            ItemState::InProgress => s.in_progress += 1,
            ItemState::Submitted => s.submitted += 1,
            ItemState::Verified => s.verified += 1,
            ItemState::Cancelled => s.cancelled += 1,
        }
        s.overdue += u32::from(i.is_overdue(today));
        s.due_soon += u32::from(i.is_due_soon(today, due_soon_days));
        s.rejections += i.rejections.max(0) as u32;
        days.extend(days_to_sign_off(i, calendar));
    }
    units
        .into_values()
        .map(|(mut s, days)| {
            s.median_days_to_sign_off = median(days);
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3.0));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2.5));
    }
}
