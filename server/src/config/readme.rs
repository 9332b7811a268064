//! The README's settings tables are checked against the settings
//! themselves, so neither can drift from the other: every setting has its
//! row, under its group's heading, with its environment variable and the
//! default its flag states; every row names a setting; and the table of
//! commands names the groups each command takes.

use std::collections::BTreeSet;

use clap::{Args, Command, CommandFactory};

use super::ServeSettings;
use crate::cli::Cli;

/// Without backticks and a trailing "(...)" gloss, spaces collapsed.
fn plain(s: &str) -> String {
    let s = s.replace('`', "");
    let s = match (s.rfind(" ("), s.ends_with(')')) {
        (Some(i), true) => s[..i].to_string(),
        _ => s,
    };
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A comma-separated cell, each item without backticks.
fn list(cell: &str) -> Vec<String> {
    cell.split(',')
        .map(|x| x.trim().trim_matches('`').to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

struct Row {
    heading: String,
    names: Vec<String>,
    envs: Vec<String>,
    default: String,
}

struct CommandsRow {
    commands: Vec<String>,
    groups: Option<BTreeSet<String>>,
}

/// The settings rows, each under its `###` heading, and the rows of the
/// table of commands.
fn tables() -> (Vec<Row>, Vec<CommandsRow>) {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("\n## Settings\n")
        .nth(1)
        .expect("a Settings section")
        .split("\n## ")
        .next()
        .unwrap();
    let (mut heading, mut header) = (String::new(), String::new());
    let (mut rows, mut commands) = (Vec::new(), Vec::new());
    for line in section.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            heading = h.trim().to_string();
            continue;
        }
        if !line.starts_with("| ") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        if !line.starts_with("| `") {
            header = cells[0].to_string();
            continue;
        }
        match header.as_str() {
            "setting" => rows.push(Row {
                heading: heading.clone(),
                names: list(cells[0]),
                envs: list(cells[1])
                    .into_iter()
                    .filter(|e| e.starts_with("DUCHA_"))
                    .collect(),
                default: plain(cells[2]),
            }),
            "command" => commands.push(CommandsRow {
                commands: list(cells[0]),
                groups: match plain(cells[1]).as_str() {
                    "all of them" => None,
                    g => Some(list(g).into_iter().collect()),
                },
            }),
            other => panic!("a table of {other:?} in the Settings section"),
        }
    }
    (rows, commands)
}

#[test]
fn the_readme_states_every_setting_as_the_code_does() {
    let every = ServeSettings::augment_args(Command::new("ducha"));
    let (rows, _) = tables();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for arg in every.get_arguments() {
        let name = arg.get_id().as_str().to_string();
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        if help.contains("[default:") {
            problems.push(format!("{name}: its help states a default; its flag does"));
        }
        let Some(row) = rows.iter().find(|r| r.names.contains(&name)) else {
            problems.push(format!("{name}: no row in the README"));
            continue;
        };
        seen.push(name.clone());
        let heading = arg.get_help_heading().unwrap_or_default();
        if row.heading != heading {
            problems.push(format!(
                "{name}: README puts it under {:?}, code under {heading:?}",
                row.heading
            ));
        }
        let env = arg
            .get_env()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !row.envs.contains(&env) {
            problems.push(format!("{name}: README says {:?}, code {env}", row.envs));
        }
        let default: Vec<_> = arg
            .get_default_values()
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        if !default.is_empty() && default.join(",") != row.default {
            problems.push(format!(
                "{name}: README's default is {:?}, the flag's {:?}",
                row.default,
                default.join(",")
            ));
        }
    }
    for r in &rows {
        for n in &r.names {
            // Only in the settings file, with the tokens: not a flag.
            if n == "trusted_issuers" && r.heading == "Tokens" {
                continue;
            }
            if !seen.contains(n) {
                problems.push(format!("{n}: in the README, not a setting"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every command that runs, by its words (`user add`), with its command.
fn leaves(cmd: &Command, words: &str, out: &mut Vec<(String, Command)>) {
    if !cmd.has_subcommands() {
        out.push((words.trim().to_string(), cmd.clone()));
    }
    for sub in cmd.get_subcommands() {
        leaves(sub, &format!("{words} {}", sub.get_name()), out);
    }
}

/// The headings of the settings `cmd` takes.
fn groups(cmd: &Command) -> BTreeSet<String> {
    cmd.get_arguments()
        .filter_map(|a| a.get_help_heading())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_names_the_groups_each_command_takes() {
    let all = groups(&ServeSettings::augment_args(Command::new("ducha")));
    let (_, rows) = tables();
    let mut commands = Vec::new();
    leaves(&Cli::command(), "", &mut commands);
    let mut problems = Vec::new();
    for (words, cmd) in &commands {
        let found: Vec<_> = rows.iter().filter(|r| r.commands.contains(words)).collect();
        let [row] = found[..] else {
            problems.push(format!(
                "{words}: in {} rows of the README's table of commands",
                found.len()
            ));
            continue;
        };
        let said = row.groups.as_ref().unwrap_or(&all);
        let takes = groups(cmd);
        if *said != takes {
            problems.push(format!("{words}: README says {said:?}, code {takes:?}"));
        }
    }
    for r in &rows {
        for c in &r.commands {
            if !commands.iter().any(|(words, _)| words == c) {
                problems.push(format!("{c}: in the README, not a command"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
