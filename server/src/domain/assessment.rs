//! The yearly assessment of a unit (年度考核): what went wrong in its year,
//! and whether the one-vote veto (一票否优) rules it out of "excellent".

use chrono::NaiveDate;
use uuid::Uuid;

use super::accountability::AccountabilityForm;
use super::enterprise::AccidentLevel;

#[derive(Debug, Clone, PartialEq)]
pub struct OverdueItem {
    pub id: Uuid,
    pub title: String,
    pub due_date: NaiveDate,
    /// Signed off or cancelled since.
    pub resolved: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccidentFact {
    pub id: Uuid,
    pub credit_code: String,
    pub occurred_on: NaiveDate,
    pub level: AccidentLevel,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccountabilityFact {
    pub id: Uuid,
    pub form: AccountabilityForm,
    pub decided_on: NaiveDate,
    pub confirmed: bool,
}

/// A unit's year, as the records show it.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentFacts {
    pub unit_code: String,
    pub year: i32,
    /// Items that went overdue in the year.
    pub overdue_items: Vec<OverdueItem>,
    /// Petitions whose reply went overdue in the year.
    pub overdue_petitions: Vec<Uuid>,
    /// Rectification reports a verifier rejected in the year.
    pub failed_verifications: i64,
    /// Closed key petitions a supervisor's spot check failed in the year.
    pub failed_spot_checks: Vec<Uuid>,
    /// Accidents of the unit's enterprises in the year, of every grade.
    pub accidents: Vec<AccidentFact>,
    /// Accountability records decided in the year.
    pub accountability: Vec<AccountabilityFact>,
}

/// Why the one-vote veto applies.
#[derive(Debug, Clone, PartialEq)]
pub enum VetoReason {
    MajorAccident(AccidentFact),
    HeavyAccountability(AccountabilityFact),
    UnresolvedOverdueItem(OverdueItem),
}

impl VetoReason {
    pub fn subject_id(&self) -> Uuid {
        match self {
            VetoReason::MajorAccident(a) => a.id,
            VetoReason::HeavyAccountability(a) => a.id,
            VetoReason::UnresolvedOverdueItem(i) => i.id,
        }
    }

    /// The reason as the assessment report states it.
    pub fn describe(&self) -> String {
        match self {
            VetoReason::MajorAccident(a) => format!(
                "{} 辖区企业 {} 发生{}环境事件",
                a.occurred_on,
                a.credit_code,
                match a.level {
                    AccidentLevel::ExtraordinarilyMajor => "特别重大",
                    _ => "重大",
                }
            ),
            VetoReason::HeavyAccountability(a) => {
                format!("{} 问责：{}", a.decided_on, a.form.chinese())
            }
            VetoReason::UnresolvedOverdueItem(i) => format!(
                "整改事项“{}”逾期（期限 {}）且至今未销号",
                i.title, i.due_date
            ),
        }
    }
}

impl AssessmentFacts {
    /// The one-vote veto applies when any of these is true; empty when it
    /// does not: a major or worse accident; a confirmed accountability
    /// record of organisational action, disciplinary sanction or judicial
    /// referral; an item that went overdue and is still not signed off.
    pub fn veto_reasons(&self) -> Vec<VetoReason> {
        let accidents = self
            .accidents
            .iter()
            .filter(|a| a.level.is_major())
            .cloned()
            .map(VetoReason::MajorAccident);
        let accountability = self
            .accountability
            .iter()
            .filter(|a| a.confirmed && a.form.vetoes())
            .cloned()
            .map(VetoReason::HeavyAccountability);
        let items = self
            .overdue_items
            .iter()
            .filter(|i| !i.resolved)
            .cloned()
            .map(VetoReason::UnresolvedOverdueItem);
        accidents.chain(accountability).chain(items).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year() -> AssessmentFacts {
        AssessmentFacts {
            unit_code: "331102".into(),
            year: 2026,
            overdue_items: vec![OverdueItem {
                id: Uuid::nil(),
                title: "污水直排".into(),
                due_date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                resolved: true,
            }],
            overdue_petitions: vec![],
            failed_verifications: 2,
            failed_spot_checks: vec![],
            accidents: vec![AccidentFact {
                id: Uuid::nil(),
                credit_code: "91331100MA2A0000X0".into(),
                occurred_on: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
                level: AccidentLevel::Larger,
            }],
            accountability: vec![AccountabilityFact {
                id: Uuid::nil(),
                form: AccountabilityForm::Disciplinary,
                decided_on: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
                confirmed: false,
            }],
        }
    }

    #[test]
    fn the_veto_needs_a_heavy_fact() {
        // A larger accident, a resolved overdue item and an unconfirmed
        // record do not veto.
        let mut y = year();
        assert!(y.veto_reasons().is_empty());
        y.accountability[0].confirmed = true;
        y.overdue_items[0].resolved = false;
        y.accidents[0].level = AccidentLevel::Major;
        let reasons = y.veto_reasons();
        assert_eq!(reasons.len(), 3);
        assert!(reasons[0].describe().contains("重大环境事件"));
        assert!(reasons[1].describe().contains("党纪政务处分"));
        assert!(reasons[2].describe().contains("污水直排"));
    }
}
