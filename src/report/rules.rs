//! `pkscan rules`: the rule table as text or JSON.

use std::io::{self, Write};

use serde::Serialize;

use crate::rules::Rule;

#[derive(Serialize)]
struct JsonRule<'a> {
    id: &'a str,
    severity: &'a str,
    title: &'a str,
    message: &'a str,
    help: &'a str,
    builtin: bool,
}

pub fn print_json(rules: &[Rule], out: &mut dyn Write) -> io::Result<()> {
    let list: Vec<JsonRule<'_>> = rules
        .iter()
        .map(|r| JsonRule {
            id: &r.id,
            severity: r.severity.as_str(),
            title: &r.title,
            message: &r.message,
            help: &r.help,
            builtin: r.builtin,
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &list)?;
    writeln!(out)
}

pub fn print_text(rules: &[Rule], out: &mut dyn Write) -> io::Result<()> {
    for rule in rules {
        writeln!(out, "{}  ({})", rule.id, rule.severity)?;
        writeln!(out, "  {}", rule.title)?;
        writeln!(out, "  {}", rule.message)?;
        for line in rule.help.lines() {
            writeln!(out, "    {line}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}
