//! Checks a compliance officer runs before deploying a pack: its own test
//! cases, and findings that do not stop it from compiling but make it
//! weaker (unused sets, rules no test exercises, terms listed twice) or
//! slower (patterns off the fast search).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::decision::Action;
use crate::gate::Gate;
use crate::matcher::{syntax_tree, TermSpec};
use crate::policy::{PackIssue, TestCase};
use crate::word_boundary;

/// The outcome of one `[[test]]` case.
#[derive(Clone, Debug, Serialize)]
pub struct TestOutcome {
    pub policy: String,
    pub file: String,
    pub number: usize,
    pub title: String,
    pub expected: Action,
    pub expected_rule: Option<String>,
    pub got: Action,
    pub rules: Vec<String>,
    pub passed: bool,
}

/// Runs every test case of the pack. Each case is screened by the whole
/// pack and judged on its own policy's matches only.
pub fn run_tests(gate: &Gate) -> Vec<TestOutcome> {
    gate.pack().tests.iter().map(|t| run_one(gate, t)).collect()
}

fn run_one(gate: &Gate, case: &TestCase) -> TestOutcome {
    let mut external = crate::ExternalSignals::default();
    for name in &case.signals {
        external.fire(name.clone(), Vec::new());
    }
    let decision = gate.screen_with(&case.listing, &external);
    let own: Vec<_> = decision.matches.iter().filter(|m| m.policy == case.policy).collect();
    let got = own.iter().map(|m| m.action).max().unwrap_or(Action::Allow);
    let rules: Vec<String> = own.iter().map(|m| m.rule.clone()).collect();
    let rule_ok = case.expect_rule.as_ref().is_none_or(|r| rules.contains(r));
    TestOutcome {
        policy: case.policy.clone(),
        file: case.file.clone(),
        number: case.number,
        title: case.listing.title.clone(),
        expected: case.expect,
        expected_rule: case.expect_rule.clone(),
        got,
        rules,
        passed: got == case.expect && rule_ok,
    }
}

/// Lint findings: the compiler's warnings plus checks that need the
/// whole pack and its test results.
pub fn lint(gate: &Gate, outcomes: &[TestOutcome]) -> Vec<PackIssue> {
    let pack = gate.pack();
    let mut issues: Vec<PackIssue> = pack.warnings().to_vec();
    let warn = |issues: &mut Vec<PackIssue>, file: &str, message: String| {
        issues.push(PackIssue { file: file.to_string(), message });
    };

    // Sets and defines no rule uses (directly or through a define).
    let mut used: BTreeSet<&str> =
        pack.policies.iter().flat_map(|p| p.rules.iter()).flat_map(|r| r.parsed.signal_names()).collect();
    loop {
        let before = used.len();
        let reached: Vec<&str> = pack
            .defines
            .iter()
            .filter(|(name, _, _)| used.contains(name.as_str()))
            .flat_map(|(_, _, body)| body.signal_names())
            .collect();
        used.extend(reached);
        if used.len() == before {
            break;
        }
    }
    for (name, file, _) in &pack.defines {
        if !used.contains(name.as_str()) {
            warn(&mut issues, file, format!("define `{name}` is not used by any rule"));
        }
    }
    for item in &pack.infos {
        if !used.contains(item.name.as_str()) {
            warn(&mut issues, &item.file, format!("info `{}` is not used by any rule", item.name));
        }
    }
    // A semantic stage's candidate sets are used: they pick the listings
    // the model reads.
    let candidates: BTreeSet<usize> = pack
        .policies
        .iter()
        .filter_map(|p| p.semantic.as_ref())
        .flat_map(|s| s.candidates.iter().chain(&s.exclude).copied())
        .collect();
    for (i, set) in pack.sets.iter().enumerate() {
        if !used.contains(set.name.as_str()) && !candidates.contains(&i) {
            warn(&mut issues, &set.file, format!("term set `{}` is not used by any rule", set.name));
        }
    }

    // Terms listed twice under one language of a set (after folding), and
    // terms their own exceptions cancel. The same spelling under two
    // languages is not a repeat: it says both languages use it.
    for set in &pack.sets {
        let mut seen: HashMap<(String, &str), &str> = HashMap::new();
        for (lang, term) in &set.terms {
            let spec = TermSpec::parse(term);
            let key = format!("{}{}{}", u8::from(spec.open_left), spec.folded, u8::from(spec.open_right));
            if let Some(first) = seen.insert((key, lang.as_str()), term) {
                warn(
                    &mut issues,
                    &set.file,
                    format!("term set `{}`: {term:?} ({lang}) repeats {first:?}, listed before under {lang}", set.name),
                );
            }
            if set.exceptions.iter().any(|x| TermSpec::parse(x).folded == spec.folded) {
                warn(
                    &mut issues,
                    &set.file,
                    format!("term set `{}`: {term:?} is also an exception, so it can never match", set.name),
                );
            }
        }
    }

    // Patterns whose word boundaries the search cannot read as ASCII ones
    // where the text holds a non-ASCII word character (`word_boundary`):
    // they match as written, but their whole set is then searched by the
    // regex crate's slowest engine, thousands of instructions a byte.
    for set in &pack.sets {
        for pattern in &set.patterns {
            if syntax_tree(pattern).is_some_and(|tree| !word_boundary::ascii_reading_widens(&tree)) {
                warn(
                    &mut issues,
                    &set.file,
                    format!(
                        "term set `{}`: pattern {pattern:?} has a word boundary with no letter or digit of its own \
                         beside it (`\\b` next to a part that may be empty, a space or a non-ASCII character), which \
                         takes the pack's patterns off their fast search in text with non-ASCII letters (Japanese, \
                         Korean, mojibake); put a letter or digit of the pattern next to each `\\b`",
                        set.name
                    ),
                );
            }
        }
    }

    // Rules no test case fires; policies without a benign case.
    let mut fired: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for o in outcomes {
        for r in &o.rules {
            *fired.entry((o.policy.as_str(), r.as_str())).or_default() += 1;
        }
    }
    for policy in &pack.policies {
        for rule in &policy.rules {
            if !fired.contains_key(&(policy.id.as_str(), rule.id.as_str())) {
                warn(
                    &mut issues,
                    &policy.file,
                    format!("rule `{}` is fired by none of the pack's test cases", rule.id),
                );
            }
        }
        let benign = outcomes.iter().filter(|o| o.policy == policy.id && o.expected == Action::Allow).count();
        if benign == 0 {
            warn(
                &mut issues,
                &policy.file,
                format!("policy `{}` has no benign look-alike test case (expect = \"allow\")", policy.id),
            );
        }
    }

    // Failing test cases.
    for o in outcomes.iter().filter(|o| !o.passed) {
        warn(
            &mut issues,
            &o.file,
            format!("test {} ({:?}) fails: expected {}, got {}", o.number, o.title, o.expected, o.got),
        );
    }
    issues
}
