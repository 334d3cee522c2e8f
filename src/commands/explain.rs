//! `rempart explain`: decisions for a person, evidence highlighted in the
//! seller's own words.

use std::borrow::Cow;
use std::io::{self, IsTerminal};

use anyhow::Result;
use rempart_core::normalize::props::is_unsafe_on_terminal;
use rempart_core::{Action, Decision, Listing};

#[derive(clap::Args)]
#[command(after_help = "Prints, for each listing: its verdict, every rule that matched with its \
legal basis and territorial scope, and each piece of evidence in its field with the matched words \
marked «like this» (or in colour on a terminal). When the semantic stage compared the listing \
with a policy's exemplars, a `≈ semantic` line gives the nearest exemplar and the similarity, \
fired or not; when it was a candidate of a policy but not compared, the line says why (too few \
words, or a static similarity under the policy's prefilter). Control, format and bidirectional characters from the \
input are shown as escapes (`\\u{202e}`), never sent to the terminal.\n\nExit status: as for `rempart screen`.")]
pub struct Args {
    #[command(flatten)]
    common: super::ScreenArgs,
}

pub fn run(args: Args) -> Result<u8> {
    let colour = io::stdout().is_terminal();
    super::screen_and_write(args.common, "explain", |_, listing, screened| {
        let mut text = render(listing, &screened.decision, colour);
        // The semantic comparison, fired or not: a reviewer tuning a
        // threshold needs the near misses too.
        if !screened.nearest.is_empty() || !screened.stopped.is_empty() {
            text.pop();
            for s in &screened.stopped {
                text.push_str(&format!("  ≈ semantic {}: not compared ({})\n", shown(&s.policy), shown(&s.reason)));
            }
            for n in &screened.nearest {
                text.push_str(&format!(
                    "  ≈ semantic {} ({}): nearest exemplar [{}] «{}», similarity {:.3}, threshold {:.3}{}\n",
                    shown(&n.policy),
                    shown(&n.signal),
                    shown(&n.language),
                    shown(&n.exemplar),
                    n.similarity,
                    n.threshold,
                    if n.fires() { " — fired" } else { "" }
                ));
            }
            text.push('\n');
        }
        text.into_bytes()
    })
}

fn field_text<'a>(listing: &'a Listing, field: &str) -> Option<&'a str> {
    match field {
        "title" => Some(&listing.title),
        "description" => listing.description.as_deref(),
        "category" => listing.category.as_deref(),
        other => {
            let key = other.strip_prefix("attributes.")?;
            listing.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
        }
    }
}

/// Renders one decision as text. Everything that comes from the input
/// (ids, titles, field names, evidence, error messages, details) goes
/// through [`shown`].
pub fn render(listing: &Listing, decision: &Decision, colour: bool) -> String {
    let mut s = String::new();
    let verdict = decision.verdict.as_str().to_uppercase();
    s.push_str(&format!("{}  {}  {}\n", shown(&decision.id), verdict, shown(&listing.title)));
    if decision.matches.is_empty() {
        s.push_str("  no rule matched\n");
    }
    for m in &decision.matches {
        let condition = m
            .condition
            .map(|c| {
                format!(
                    " ({})",
                    serde_json::to_value(c).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "  {} {}{} — {} / {}\n",
            marker(m.action),
            m.action,
            condition,
            shown(&m.policy),
            shown(&m.rule)
        ));
        s.push_str(&format!("      legal basis: {}   scope: {}\n", shown(&m.legal_basis), shown(&m.scope.join(", "))));
        if let Some(why) = &m.explain {
            s.push_str(&format!("      why: {}\n", shown(why)));
        }
        if !m.missing.is_empty() {
            s.push_str(&format!("      missing: {}\n", m.missing.join(", ")));
        }
        for e in &m.evidence {
            let context = field_text(listing, &e.field).map(|t| highlight(t, e.start, e.end, colour));
            let context = context.unwrap_or_else(|| shown(&e.text).into_owned());
            s.push_str(&format!("      {} [{}]: {}\n", shown(&e.field), shown(&e.signal), context));
            if let Some(detail) = &e.detail {
                s.push_str(&format!("        {}\n", shown(detail)));
            }
        }
        if m.evidence_omitted > 0 {
            s.push_str(&format!("      … and {} more piece(s) of evidence\n", m.evidence_omitted));
        }
    }
    for error in &decision.signal_errors {
        s.push_str(&format!(
            "  ⚠ {} not used: {} ({})\n",
            shown(&error.source),
            shown(&error.message),
            shown(&error.code)
        ));
    }
    s.push_str(&format!("  policy version {}\n\n", decision.policy_version));
    s
}

/// `text` safe to print on a terminal: every character that could move
/// the cursor, clear the screen, change colours or reorder the line
/// (escape sequences, carriage returns, line breaks, bidirectional and
/// other invisible controls) is written as an escape, `\u{202e}`, so a
/// seller cannot erase the verdict line or print a fake one.
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe_on_terminal(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn marker(action: Action) -> &'static str {
    match action {
        Action::Block => "✗",
        Action::Review => "?",
        Action::Restrict => "!",
        Action::Allow => "✓",
    }
}

/// The field text around the evidence, with the evidence marked. Long
/// fields are cut to a window around it.
fn highlight(text: &str, start: usize, end: usize, colour: bool) -> String {
    let (start, end) = (start.min(text.len()), end.min(text.len()));
    let (from, to) = rempart_core::decision::context_window(text, start, end, 60);
    let (open, close) = if colour { ("\x1b[1;31m", "\x1b[0m") } else { ("«", "»") };
    let before = shown(text.get(from..start).unwrap_or_default());
    let hit = shown(text.get(start..end).unwrap_or_default());
    let after = shown(text.get(end..to).unwrap_or_default());
    format!(
        "{}{before}{open}{hit}{close}{after}{}",
        if from > 0 { "…" } else { "" },
        if to < text.len() { "…" } else { "" }
    )
}
