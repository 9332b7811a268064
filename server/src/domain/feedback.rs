//! The written feedback (书面反馈意见) a campaign sends each target unit:
//! its findings and their rectification items, as data and as Markdown.

use std::fmt::Write;

use chrono::NaiveDate;

use super::campaign::Campaign;
use super::finding::{Category, FindingView, Medium, Severity};
use super::rectification::{ItemState, RectificationItem};
use super::statistics::UnitStats;

/// A finding of the unit with its items.
#[derive(Debug, Clone)]
pub struct ReportedFinding {
    pub finding: FindingView,
    pub items: Vec<RectificationItem>,
}

#[derive(Debug, Clone)]
pub struct FeedbackReport {
    pub campaign: Campaign,
    pub unit_code: String,
    pub unit_name: String,
    /// The day the report was drawn up (China's date).
    pub as_of: NaiveDate,
    pub findings: Vec<ReportedFinding>,
    pub stats: UnitStats,
}

fn category(c: Category) -> &'static str {
    match c {
        Category::DecisionImplementation => "决策部署落实",
        Category::ProminentProblem => "突出环境问题",
        Category::Responsibility => "责任落实",
    }
}

fn medium(m: Medium) -> &'static str {
    match m {
        Medium::Water => "水",
        Medium::Air => "大气",
        Medium::Soil => "土壤",
        Medium::SolidWaste => "固体废物",
        Medium::Noise => "噪声",
        Medium::Ecology => "生态",
        Medium::Radiation => "辐射",
        Medium::Other => "其他",
    }
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::General => "一般",
        Severity::Serious => "较重",
        Severity::Major => "严重",
    }
}

fn state(s: ItemState) -> &'static str {
    match s {
        ItemState::Open => "待签收",
        ItemState::InProgress => "整改中",
        ItemState::Submitted => "待核验",
        ItemState::Verified => "已销号",
        ItemState::Cancelled => "已撤销",
    }
}

/// Text put in Markdown as it is: characters that would start markup are
/// escaped, so a finding's words cannot change the document's layout.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(
            ch,
            '\\' | '*' | '_' | '`' | '#' | '[' | ']' | '<' | '>' | '|'
        ) {
            out.push('\\');
        }
        out.push(if ch == '\n' { ' ' } else { ch });
    }
    out
}

impl FeedbackReport {
    pub fn markdown(&self) -> String {
        let c = &self.campaign.plan;
        let s = &self.stats;
        let mut md = String::new();
        let _ = writeln!(md, "# {}\n", plain(&c.title));
        let _ = writeln!(
            md,
            "## 对{}（{}）的反馈意见\n",
            plain(&self.unit_name),
            self.unit_code
        );
        let _ = writeln!(md, "督查时间：{} 至 {}  ", c.starts_on, c.ends_on);
        let _ = writeln!(
            md,
            "截至 {}，督查发现问题 {} 个，交办整改事项 {} 项：已销号 {} 项，整改中 {} 项，待核验 {} 项，逾期 {} 项。\n",
            self.as_of,
            self.findings.len(),
            s.total(),
            s.verified,
            s.open + s.in_progress,
            s.submitted,
            s.overdue
        );
        let _ = writeln!(md, "### 问题及整改情况\n");
        if self.findings.is_empty() {
            let _ = writeln!(md, "本次督查未发现问题。");
        }
        for (n, r) in self.findings.iter().enumerate() {
            let f = &r.finding.finding.content;
            let _ = writeln!(
                md,
                "{}. **{}**（{}／{}／{}）",
                n + 1,
                plain(&f.title),
                category(f.category),
                medium(f.medium),
                severity(f.severity)
            );
            if !f.description.trim().is_empty() {
                let _ = writeln!(md, "   {}", plain(&f.description));
            }
            for i in &r.items {
                let overdue = if i.is_overdue(self.as_of) {
                    "，已逾期"
                } else {
                    ""
                };
                let _ = writeln!(
                    md,
                    "   - 整改要求：{}；整改期限：{}；状态：{}{}",
                    plain(&i.requirement),
                    i.due_date,
                    state(i.state),
                    overdue
                );
            }
            md.push('\n');
        }
        md
    }
}
