//! Policy packs: loading the TOML files, checking them, and compiling them
//! into the read-only structure the gate screens with.
//!
//! A pack compiles or it does not: every problem that would make a
//! decision wrong or unexplainable (unknown signal, missing legal basis,
//! duplicate id, bad expression) is an error, all of them reported at once
//! with the file they come from. Softer findings are lint warnings
//! ([`lint`]).

pub mod dsa;
pub mod expr;
pub mod info;
pub mod lint;
pub mod procedures;
pub(crate) mod rule_index;
mod schema;
pub mod territory;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::decision::{Action, Condition};
use crate::extract::QuantityKind;
use crate::gate::TEXT_SIGNALS;
use crate::language::{Language, Languages, LANGUAGE_KEYS};
use crate::lexicon::{Lexicon, WORD_LISTS};
use crate::listing::Listing;
use crate::matcher::{Matcher, MatcherBuilder, SetId, TermSpec};
use expr::{Aggregate, CompareOp, Expr, FieldFilter, Hits};
use schema::{PackFile, TestCaseDef};

pub use dsa::{DSA_CATEGORIES, DSA_KEYWORDS};
pub use info::InfoItem;

/// A problem in a pack, tied to its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackIssue {
    pub file: String,
    pub message: String,
}

impl fmt::Display for PackIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// A pack that could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("cannot read policy pack {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("policy pack has {} error(s):\n{}", .0.len(), .0.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<PackIssue>),
}

/// A term set as compiled.
#[derive(Clone, Debug)]
pub struct TermSet {
    pub name: String,
    pub file: String,
    pub description: Option<String>,
    /// Where the terms come from (`source` key of the set).
    pub source: Option<String>,
    /// (language, term as written) pairs.
    pub terms: Vec<(String, String)>,
    pub exceptions: Vec<String>,
    pub patterns: Vec<String>,
    /// Terms that count only in text of the language they are listed under.
    pub false_friends: Vec<String>,
    /// As an exception, this set's cancellations are certain (no review).
    pub certain: bool,
}

/// Where a rule takes term hits from: a set, or the hits of another
/// source that no hit of an exception set sits next to.
#[derive(Clone, Debug)]
pub enum HitSource {
    Set(SetId),
    Without {
        source: Box<HitSource>,
        exception: SetId,
        words: u32,
    },
    Any(Vec<HitSource>),
    /// Only the hits in one field (`define@title`).
    InField(Box<HitSource>, FieldFilter),
}

impl HitSource {
    /// The sets the hits are drawn from (not the exceptions).
    pub fn bases(&self) -> Vec<SetId> {
        let mut bases = Vec::new();
        self.any_base(&mut |set| {
            bases.push(set);
            false
        });
        bases
    }

    /// Whether `test` holds for one of [`HitSource::bases`], asked in
    /// their order until it does: what screening asks of a rule, without
    /// collecting the sets for every listing.
    pub fn any_base(&self, test: &mut impl FnMut(SetId) -> bool) -> bool {
        match self {
            HitSource::Set(set) => test(*set),
            HitSource::Without { source, .. } | HitSource::InField(source, _) => source.any_base(test),
            HitSource::Any(items) => items.iter().any(|item| item.any_base(test)),
        }
    }
}

/// A compiled rule expression: names resolved to set ids.
#[derive(Clone, Debug)]
pub enum Predicate {
    Set {
        set: SetId,
        field: Option<FieldFilter>,
    },
    Near {
        a: HitSource,
        b: HitSource,
        words: u32,
    },
    /// Some hit of a `without(…)` source survives its exception.
    Hits(HitSource),
    External(String),
    /// A piece of listing information is present (index into `Pack::infos`).
    Info(usize),
    Has(QuantityKind),
    Compare {
        kind: QuantityKind,
        aggregate: Aggregate,
        op: CompareOp,
        value: f64,
    },
    Not(Box<Predicate>),
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub action: Action,
    pub condition: Option<Condition>,
    pub explain: Option<String>,
    /// The rule's own legal basis, overriding its policy's in matches.
    pub legal_basis: Option<String>,
    /// The `when` expression as written.
    pub when: String,
    pub(crate) test: Predicate,
    /// A necessary condition for `test`, checked first (see [`Trigger`]).
    pub(crate) trigger: Option<Trigger>,
    pub(crate) parsed: Expr,
    /// Sets the rule uses as exceptions (under `!` or as the exception of
    /// `without`) whose cancellations are not certain: every `!set` over the
    /// whole listing, and field-restricted or `without` uses of sets not
    /// marked `certain`. When one of them cancels a `block`, the listing
    /// goes to review instead of allow.
    pub(crate) uncertain_exceptions: Vec<SetId>,
    /// The `[info]` items the rule requires (named under a negation in
    /// `when`, and not conditions): the candidates for `missing`.
    pub(crate) requires: Vec<usize>,
}

/// Signals of which at least one must be present for a rule to hold. Most
/// listings fire no term set of most rules, so testing this (a few array
/// reads) before walking the rule's expression skips most of the work.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Trigger {
    pub sets: Vec<SetId>,
    pub kinds: Vec<QuantityKind>,
    pub external: bool,
}

impl Trigger {
    fn size(&self) -> usize {
        self.sets.len() + self.kinds.len() + usize::from(self.external)
    }
}

impl Predicate {
    /// The signals this predicate cannot hold without, when there is such
    /// a set (`None` when it can hold on absence, as under `!`).
    pub(crate) fn trigger(&self) -> Option<Trigger> {
        match self {
            Predicate::Set { set, .. } => Some(Trigger { sets: vec![*set], ..Trigger::default() }),
            Predicate::Near { a: hits, .. } | Predicate::Hits(hits) => {
                Some(Trigger { sets: hits.bases(), ..Trigger::default() })
            }
            Predicate::External(_) => Some(Trigger { external: true, ..Trigger::default() }),
            // Presence is a lookup in a small per-listing table: no cheaper
            // necessary condition exists.
            Predicate::Info(_) => None,
            Predicate::Has(kind) | Predicate::Compare { kind, .. } => {
                Some(Trigger { kinds: vec![*kind], ..Trigger::default() })
            }
            Predicate::Not(_) => None,
            // Any conjunct's trigger is necessary; the smallest is cheapest,
            // and one without a quantity kind cheaper still: a kind in a
            // trigger has the quantities of every listing read (the gate
            // reads them on demand).
            Predicate::All(items) => {
                items.iter().filter_map(Predicate::trigger).min_by_key(|t| (!t.kinds.is_empty(), t.size()))
            }
            Predicate::Any(items) => items.iter().try_fold(Trigger::default(), |mut all, item| {
                let t = item.trigger()?;
                all.sets.extend(t.sets);
                all.kinds.extend(t.kinds);
                all.external |= t.external;
                Some(all)
            }),
        }
    }
}

impl Predicate {
    /// Info items named under an odd number of negations: what the rule
    /// asks the listing to have.
    fn negated_infos(&self, negated: bool, out: &mut Vec<usize>) {
        match self {
            Predicate::Info(id) if negated && !out.contains(id) => out.push(*id),
            Predicate::Not(inner) => inner.negated_infos(!negated, out),
            Predicate::All(items) | Predicate::Any(items) => items.iter().for_each(|i| i.negated_infos(negated, out)),
            _ => {}
        }
    }
}

/// A compiled policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub id: String,
    pub title: String,
    pub legal_basis: String,
    pub scope: Vec<String>,
    pub countries: BTreeSet<String>,
    pub dsa_category: String,
    pub dsa_keywords: Vec<String>,
    pub dsa_ground: crate::DsaGround,
    pub terms_reference: Option<String>,
    /// Review-queue order: higher is looked at first.
    pub severity: u32,
    /// A block in this policy needs a second reviewer's agreement.
    pub four_eyes: bool,
    pub notes: Option<String>,
    pub file: String,
    pub rules: Vec<Rule>,
    /// Exemplars for the semantic stage, if the policy has a `[semantic]` table.
    pub semantic: Option<Semantic>,
}

/// A policy's `[semantic]` table, compiled: what an embedding stage
/// outside the core (rempart-semantic) compares a listing with. The core
/// only checks and carries it; the similarity itself comes back as the
/// external signal `signal`, which the policy's rules may use only to
/// send a listing to review.
#[derive(Clone, Debug)]
pub struct Semantic {
    /// The external signal fired when a listing is close to an exemplar.
    pub signal: String,
    /// Cosine similarity from which a listing counts as close.
    pub threshold: f32,
    /// Cosine similarity of the listing's static embedding (the mean of its
    /// tokens' rows in the model's input table) to the nearest exemplar's,
    /// below which the stage does not run the model: a sieve that costs
    /// microseconds, set from the evaluation set. `None`: every candidate
    /// reaches the model.
    pub prefilter: Option<f32>,
    /// (candidate set, prefilter): a candidate set that is a weak reason
    /// on its own gets a higher prefilter; a listing's prefilter is the
    /// lowest among the candidate sets found in it (the policy's
    /// `prefilter` for the others).
    pub prefilter_sets: Vec<(usize, f32)>,
    /// Words (three letters or more, no digit) a title needs before the
    /// stage compares it: "Doll 100cm" (one word and a size) sits near the
    /// exemplars by its size and product word alone. `None`: no minimum.
    pub min_words: Option<usize>,
    /// Term sets (indexes into `Pack::sets`) of which one must be found in a
    /// listing for it to be compared at all (the cascade).
    pub candidates: Vec<usize>,
    /// Term sets (indexes into `Pack::sets`) that keep a listing away from
    /// the model even when it holds a candidate.
    pub exclude: Vec<usize>,
    pub description: Option<String>,
    /// (language, exemplar text) pairs.
    pub exemplars: Vec<(String, String)>,
}

/// A test case shipped with a policy.
#[derive(Clone, Debug)]
pub struct TestCase {
    pub policy: String,
    pub file: String,
    /// 1-based position among the file's `[[test]]` tables.
    pub number: usize,
    pub listing: Listing,
    pub expect: Action,
    pub expect_rule: Option<String>,
    pub note: Option<String>,
    /// External signals that fire for this case.
    pub signals: Vec<String>,
}

/// A compiled, immutable policy pack.
pub struct Pack {
    pub name: String,
    pub description: Option<String>,
    /// `sha256:` + hex digest over the files' paths and contents.
    pub version: String,
    pub territories: Vec<String>,
    pub external_signals: Vec<String>,
    pub sets: Vec<TermSet>,
    /// Listing information rules may require (`[info.NAME]`).
    pub infos: Vec<InfoItem>,
    /// Named sub-expressions: (name, file, parsed expression).
    pub defines: Vec<(String, String, Expr)>,
    pub policies: Vec<Policy>,
    pub tests: Vec<TestCase>,
    /// Unit words and the words around numbers, from `[[unit]]` and
    /// `[words.*]` tables.
    pub lexicon: Lexicon,
    /// Reasons reviewers may give for an outcome.
    pub reasons: Vec<procedures::Reason>,
    /// Plain-language texts of policies for sellers: policy id →
    /// language code → text.
    pub seller_texts: BTreeMap<String, BTreeMap<String, String>>,
    /// Settings of the review, appeal, repeat-offender and trader procedures.
    pub procedures: procedures::Procedures,
    pub(crate) matcher: Matcher,
    pub(crate) warnings: Vec<PackIssue>,
}

impl fmt::Debug for Pack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pack")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("policies", &self.policies.len())
            .field("sets", &self.sets.len())
            .finish()
    }
}

impl Pack {
    /// Loads every `*.toml` file under `dir`, recursively.
    pub fn from_dir(dir: &Path) -> Result<Pack, PackError> {
        Pack::from_sources(Pack::sources_in_dir(dir)?)
    }

    /// The `(relative path, contents)` of every `*.toml` file under `dir`:
    /// what [`Pack::from_sources`] compiles, and what a store keeps of a
    /// pack version.
    pub fn sources_in_dir(dir: &Path) -> Result<Vec<(String, String)>, PackError> {
        let mut files = Vec::new();
        collect_toml(dir, dir, &mut files)?;
        if files.is_empty() {
            return Err(PackError::Invalid(vec![PackIssue {
                file: dir.display().to_string(),
                message: "no .toml policy files found".into(),
            }]));
        }
        Ok(files)
    }

    /// The default FR/EU pack embedded at build time from `policies/`.
    #[cfg(feature = "default-pack")]
    pub fn embedded() -> Result<Pack, PackError> {
        Pack::from_sources(Pack::embedded_sources())
    }

    /// The files of the embedded pack.
    #[cfg(feature = "default-pack")]
    pub fn embedded_sources() -> Vec<(String, String)> {
        static DIR: include_dir::Dir<'static> = include_dir::include_dir!("$OUT_DIR/policies");
        let mut files = Vec::new();
        collect_embedded(&DIR, &mut files);
        files
    }

    /// Compiles a pack from `(relative path, contents)` pairs.
    pub fn from_sources(mut files: Vec<(String, String)>) -> Result<Pack, PackError> {
        files.sort();
        let version = version_of(&files);
        let mut compiler = Compiler::default();
        let mut parsed = Vec::new();
        for (path, text) in &files {
            match toml::from_str::<PackFile>(text) {
                Ok(file) => parsed.push((path.clone(), file)),
                Err(e) => {
                    let at = e.span().map(|span| line_column(text, span.start)).unwrap_or_default();
                    compiler.error(path, format!("{at}not a valid policy file: {}", e.message().trim()))
                }
            }
        }
        compiler.compile(parsed, version)
    }

    /// Problems that do not stop the pack from working.
    pub fn warnings(&self) -> &[PackIssue] {
        &self.warnings
    }

    /// Finds a policy by id.
    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id == id)
    }

    /// A reviewer's reason by code.
    pub fn reason(&self, code: &str) -> Option<&procedures::Reason> {
        self.reasons.iter().find(|r| r.code == code)
    }

    /// The reasons offered for an item involving `policies`: those of the
    /// policies first, then the ones for every policy.
    pub fn reasons_for(&self, policies: &[String]) -> Vec<&procedures::Reason> {
        let (own, general): (Vec<_>, Vec<_>) =
            self.reasons.iter().filter(|r| r.offered_for(policies)).partition(|r| r.policy.is_some());
        own.into_iter().chain(general).collect()
    }

    /// A policy's text for sellers in `lang` (else English), if the pack
    /// has one.
    pub fn seller_text(&self, policy: &str, lang: &str) -> Option<&str> {
        self.seller_texts.get(policy).and_then(|t| procedures::localized(t, lang))
    }

    /// Every distinct term spelling, for the raw-scan benchmark baseline.
    pub fn spellings(&self) -> impl Iterator<Item = &str> {
        self.matcher.spellings()
    }
}

fn collect_toml(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<(), PackError> {
    let io = |e: std::io::Error| PackError::Io { path: dir.display().to_string(), source: e };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            // `sources/` holds the data vocabularies are generated from, not pack files.
            if path.file_name().is_some_and(|n| n == "sources") {
                continue;
            }
            collect_toml(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| PackError::Io { path: path.display().to_string(), source: e })?;
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((rel, text));
        }
    }
    Ok(())
}

#[cfg(feature = "default-pack")]
fn collect_embedded(dir: &include_dir::Dir<'static>, out: &mut Vec<(String, String)>) {
    for file in dir.files() {
        let path = file.path().to_string_lossy().replace('\\', "/");
        if path.ends_with(".toml") {
            out.push((path, file.contents_utf8().unwrap_or_default().to_string()));
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
}

/// A policy that can block outranks one that can only send to review,
/// which outranks one that only restricts.
fn default_severity(rules: &[Rule]) -> u32 {
    match rules.iter().map(|r| r.action).max() {
        Some(Action::Block) => 30,
        Some(Action::Review) => 20,
        Some(Action::Restrict) => 10,
        _ => 0,
    }
}

fn version_of(files: &[(String, String)]) -> String {
    let mut hasher = Sha256::new();
    for (path, text) in files {
        hasher.update((path.len() as u64).to_le_bytes());
        hasher.update(path.as_bytes());
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[derive(Default)]
struct Compiler {
    errors: Vec<PackIssue>,
    warnings: Vec<PackIssue>,
}

impl Compiler {
    /// Checks a policy's `[semantic]` table. The stage's signal is a
    /// similarity, never proof: a rule naming it may only send to review.
    fn semantic(
        &mut self,
        path: &str,
        policy: &str,
        def: schema::SemanticDef,
        set_ids: &HashMap<String, SetId>,
        external_signals: &[String],
        rules: &[Rule],
    ) -> Option<Semantic> {
        let errors = self.errors.len();
        if !external_signals.contains(&def.signal) {
            self.error(
                path,
                format!(
                    "policy `{policy}`: [semantic] signal `{}` is not declared in pack.toml's external_signals",
                    def.signal
                ),
            );
        }
        if !(def.threshold > 0.0 && def.threshold < 1.0) {
            self.error(
                path,
                format!(
                    "policy `{policy}`: [semantic] threshold {} is not a cosine similarity in (0, 1)",
                    def.threshold
                ),
            );
        }
        if let Some(prefilter) = def.prefilter.filter(|p| !(*p > 0.0 && *p < 1.0)) {
            self.error(
                path,
                format!("policy `{policy}`: [semantic] prefilter {prefilter} is not a cosine similarity in (0, 1)"),
            );
        }
        let mut candidates = Vec::new();
        for name in &def.candidates {
            match set_ids.get(name) {
                Some(&id) => candidates.push(id),
                None => self.error(path, format!("policy `{policy}`: [semantic] candidate `{name}` is not a term set")),
            }
        }
        let mut exclude = Vec::new();
        for name in &def.exclude {
            match set_ids.get(name) {
                Some(&id) => exclude.push(id),
                None => self.error(path, format!("policy `{policy}`: [semantic] exclude `{name}` is not a term set")),
            }
        }
        let mut prefilter_sets = Vec::new();
        for (name, floor) in &def.prefilter_sets {
            match set_ids.get(name) {
                Some(&id) if candidates.contains(&id) && *floor > 0.0 && *floor < 1.0 => {
                    prefilter_sets.push((id, *floor as f32))
                }
                _ => self.error(
                    path,
                    format!(
                        "policy `{policy}`: [semantic.prefilter_sets] `{name}` = {floor} is not a candidate set with a cosine in (0, 1)"
                    ),
                ),
            }
        }
        if !prefilter_sets.is_empty() && def.prefilter.is_none() {
            self.error(path, format!("policy `{policy}`: [semantic.prefilter_sets] needs a policy `prefilter`"));
        }
        if candidates.is_empty() {
            self.error(
                path,
                format!(
                    "policy `{policy}`: [semantic] needs candidates (term sets that make a listing worth comparing)"
                ),
            );
        }
        let exemplars: Vec<(String, String)> = def
            .exemplars
            .into_iter()
            .flat_map(|(lang, texts)| texts.into_iter().map(move |t| (lang.clone(), t)))
            .filter(|(_, t)| !t.trim().is_empty())
            .collect();
        if exemplars.is_empty() {
            self.error(path, format!("policy `{policy}`: [semantic] has no exemplars"));
        }
        for rule in rules.iter().filter(|r| r.parsed.signal_names().contains(&def.signal.as_str())) {
            if rule.action > Action::Review {
                self.error(
                    path,
                    format!(
                        "rule `{}`: `{}` is a similarity, not evidence of a word: it may send to review, never {}",
                        rule.id, def.signal, rule.action
                    ),
                );
            }
        }
        (self.errors.len() == errors).then_some(Semantic {
            signal: def.signal,
            threshold: def.threshold as f32,
            prefilter: def.prefilter.map(|p| p as f32),
            prefilter_sets,
            min_words: def.min_words,
            candidates,
            exclude,
            description: def.description,
            exemplars,
        })
    }

    fn error(&mut self, file: &str, message: impl Into<String>) {
        self.errors.push(PackIssue { file: file.to_string(), message: message.into() });
    }

    fn warn(&mut self, file: &str, message: impl Into<String>) {
        self.warnings.push(PackIssue { file: file.to_string(), message: message.into() });
    }

    /// A statement of reasons carries the policy's category and keywords
    /// verbatim, and the Transparency Database refuses values outside its
    /// enumerations: check them here rather than at submission.
    fn check_dsa_enumerations(&mut self, path: &str, meta: &schema::PolicyMeta) {
        let hint = |value: &str| dsa::unknown_value_hint(value).map(|h| format!(" ({h})")).unwrap_or_default();
        if !DSA_CATEGORIES.contains(&meta.dsa_category.as_str()) {
            let message = format!(
                "policy `{}`: dsa_category `{}` is not a DSA transparency-database category{}",
                meta.id,
                meta.dsa_category,
                hint(&meta.dsa_category)
            );
            self.error(path, message);
        }
        for (i, keyword) in meta.dsa_keywords.iter().enumerate() {
            if !DSA_KEYWORDS.contains(&keyword.as_str()) {
                let message = format!(
                    "policy `{}`: dsa_keywords[{i}] `{keyword}` is not a DSA transparency-database keyword{}",
                    meta.id,
                    hint(keyword)
                );
                self.error(path, message);
            } else if meta.dsa_keywords[..i].contains(keyword) {
                self.warn(path, format!("policy `{}`: dsa_keywords lists `{keyword}` twice", meta.id));
            }
        }
    }

    fn compile(mut self, mut files: Vec<(String, PackFile)>, version: String) -> Result<Pack, PackError> {
        // Procedures, reasons and seller texts: checked once the policy ids are known.
        let mut people = Vec::new();
        for (path, file) in &mut files {
            people.push((
                path.clone(),
                std::mem::take(&mut file.reason),
                std::mem::take(&mut file.seller_text),
                file.procedures.take(),
            ));
        }
        // Manifest.
        let manifests: Vec<_> = files.iter().filter(|(_, f)| f.pack.is_some()).collect();
        let (name, description, territories, external_signals) = match manifests.as_slice() {
            [(_, f)] => {
                let m = f.pack.as_ref().map(|m| {
                    (m.name.clone(), m.description.clone(), m.territories.clone(), m.external_signals.clone())
                });
                m.unwrap_or_default()
            }
            [] => {
                self.warn("pack.toml", "no [pack] manifest; the pack is unnamed");
                ("unnamed".to_string(), None, Vec::new(), Vec::new())
            }
            many => {
                for (path, _) in &many[1..] {
                    self.error(path, "a second [pack] manifest (only one file may have [pack])");
                }
                let m = many[0].1.pack.as_ref().map(|m| {
                    (m.name.clone(), m.description.clone(), m.territories.clone(), m.external_signals.clone())
                });
                m.unwrap_or_default()
            }
        };

        // Term sets, global by name.
        let mut sets: Vec<TermSet> = Vec::new();
        let mut set_ids: HashMap<String, SetId> = HashMap::new();
        let mut builder = MatcherBuilder::default();
        for (path, file) in &files {
            for (set_name, def) in &file.terms {
                if let Some(&other) = set_ids.get(set_name) {
                    let first = sets[other].file.clone();
                    self.error(path, format!("term set `{set_name}` is already defined in {first}"));
                    continue;
                }
                if QuantityKind::from_name(set_name).is_some() || set_name == "max" || set_name == "min" {
                    self.error(path, format!("term set `{set_name}` has the name of a quantity; rename it"));
                    continue;
                }
                if TEXT_SIGNALS.contains(&set_name.as_str()) {
                    self.error(
                        path,
                        format!("term set `{set_name}` has the name of a built-in text signal; rename it"),
                    );
                    continue;
                }
                let id = sets.len();
                set_ids.insert(set_name.clone(), id);
                let mut terms = Vec::new();
                // A false friend counts in every language it is listed under.
                let mut friend_languages: HashMap<&str, Languages> = HashMap::new();
                for (key, value) in &def.languages {
                    let (Some(language), Some(list)) = (Language::from_code(key), string_list(value)) else {
                        continue;
                    };
                    for term in list.into_iter().filter(|t| def.false_friends.iter().any(|f| f == t)) {
                        friend_languages.entry(term).or_default().insert(language);
                    }
                }
                for (key, value) in &def.languages {
                    let Some(language) = Language::from_code(key).filter(|_| LANGUAGE_KEYS.contains(&key.as_str()))
                    else {
                        self.error(
                            path,
                            format!(
                                "term set `{set_name}`: unknown key `{key}` (expected description, source, \
                                 exceptions, patterns, false_friends, certain, or a language code: {})",
                                LANGUAGE_KEYS.join(" ")
                            ),
                        );
                        continue;
                    };
                    let Some(list) = string_list(value) else {
                        self.error(path, format!("term set `{set_name}`: `{key}` must be a list of strings"));
                        continue;
                    };
                    for term in list {
                        if TermSpec::parse(term).folded.is_empty() {
                            self.error(
                                path,
                                format!("term set `{set_name}` ({key}): term {term:?} has no letters or digits"),
                            );
                            continue;
                        }
                        if def.false_friends.iter().any(|f| f == term) {
                            if key == "any" {
                                self.error(
                                    path,
                                    format!("term set `{set_name}`: false friend {term:?} must be listed under its language, not `any`"),
                                );
                            }
                            builder.term_in(
                                id,
                                term,
                                friend_languages.get(term).copied().unwrap_or(Languages::of(language)),
                            );
                        } else {
                            builder.term(id, term);
                        }
                        terms.push((key.clone(), term.to_string()));
                    }
                }
                for friend in &def.false_friends {
                    if !terms.iter().any(|(_, t)| t == friend) {
                        self.error(
                            path,
                            format!("term set `{set_name}`: false friend {friend:?} is not one of the set's terms"),
                        );
                    }
                }
                for x in &def.exceptions {
                    builder.exception(id, x);
                }
                for p in &def.patterns {
                    match regex::Regex::new(p) {
                        Ok(re) => builder.pattern(id, re),
                        Err(e) => {
                            self.error(path, format!("term set `{set_name}`: pattern {p:?} is not a valid regex: {e}"))
                        }
                    }
                }
                if terms.is_empty() && def.patterns.is_empty() {
                    self.error(path, format!("term set `{set_name}` has no terms and no patterns"));
                }
                sets.push(TermSet {
                    name: set_name.clone(),
                    file: path.clone(),
                    description: def.description.clone(),
                    source: def.source.clone(),
                    terms,
                    exceptions: def.exceptions.clone(),
                    patterns: def.patterns.clone(),
                    false_friends: def.false_friends.clone(),
                    certain: def.certain,
                });
            }
        }
        // Language knowledge for quantities.
        let mut lexicon = Lexicon::default();
        for (path, file) in &files {
            for unit in &file.unit {
                let Some(kind) = QuantityKind::from_name(&unit.kind) else {
                    self.error(path, format!("[[unit]]: `{}` is not a quantity", unit.kind));
                    continue;
                };
                if !(unit.factor.is_finite() && unit.factor > 0.0) {
                    self.error(path, format!("[[unit]] of {}: factor must be a positive number", unit.kind));
                }
                for word in self.word_lists(path, &format!("[[unit]] of {}", unit.kind), &unit.languages) {
                    lexicon.add_unit(&word, kind, unit.factor);
                }
            }
            for (list, def) in &file.words {
                if !WORD_LISTS.iter().any(|(name, _)| name == list) {
                    let known: Vec<&str> = WORD_LISTS.iter().map(|(n, _)| *n).collect();
                    self.error(path, format!("unknown word list [words.{list}] (known: {})", known.join(", ")));
                    continue;
                }
                for word in self.word_lists(path, &format!("[words.{list}]"), &def.languages) {
                    lexicon.add_word(list, &word);
                }
            }
        }

        // Named sub-expressions, global like term sets.
        let mut defines: HashMap<String, (String, Expr)> = HashMap::new();
        for (path, file) in &files {
            for (name, source) in &file.define {
                if set_ids.contains_key(name) || defines.contains_key(name) || QuantityKind::from_name(name).is_some() {
                    self.error(
                        path,
                        format!("define `{name}` reuses the name of a term set, quantity or other define"),
                    );
                    continue;
                }
                match expr::parse(source) {
                    Ok(e) => {
                        defines.insert(name.clone(), (path.clone(), e));
                    }
                    Err(e) => self.error(path, format!("define `{name}`: {e}")),
                }
            }
        }
        // Listing information items, global like term sets.
        let mut infos: Vec<InfoItem> = Vec::new();
        let mut info_ids: HashMap<String, usize> = HashMap::new();
        for (path, file) in &files {
            for (name, def) in &file.info {
                let taken = set_ids.contains_key(name)
                    || defines.contains_key(name)
                    || info_ids.contains_key(name)
                    || external_signals.contains(name)
                    || QuantityKind::from_name(name).is_some();
                if taken {
                    self.error(path, format!("info `{name}` reuses the name of a term set, define, quantity, external signal or other info item"));
                    continue;
                }
                match InfoItem::new(name, path, def) {
                    Ok(item) => {
                        info_ids.insert(name.clone(), infos.len());
                        infos.push(item);
                    }
                    Err(message) => self.error(path, message),
                }
            }
        }
        let matcher = match builder.build() {
            Ok(m) => Some(m),
            Err(e) => {
                self.error("pack", format!("cannot build the term automaton: {e}"));
                None
            }
        };

        // Policies and their rules.
        let mut policies: Vec<Policy> = Vec::new();
        let mut pending_tests: Vec<(String, String, Vec<TestCaseDef>)> = Vec::new();
        for (path, file) in files {
            let Some(meta) = file.policy else {
                if !file.rule.is_empty() || !file.test.is_empty() || file.semantic.is_some() {
                    self.error(&path, "has [[rule]], [[test]] or [semantic] tables but no [policy] table");
                }
                continue;
            };
            if policies.iter().any(|p| p.id == meta.id) {
                self.error(&path, format!("policy id `{}` is used twice", meta.id));
                continue;
            }
            if !is_snake_case(&meta.id) {
                self.error(&path, format!("policy id `{}` must be snake_case", meta.id));
            }
            if meta.legal_basis.trim().is_empty() {
                self.error(&path, format!("policy `{}` has no legal_basis", meta.id));
            }
            if meta.scope.is_empty() {
                self.error(&path, format!("policy `{}` has no scope (e.g. scope = [\"FR\"] or [\"EU\"])", meta.id));
            }
            let (countries, invalid) = territory::expand(&meta.scope);
            for code in invalid {
                self.error(
                    &path,
                    format!("policy `{}`: scope `{code}` is not EU or an ISO 3166-1 alpha-2 code", meta.id),
                );
            }
            self.check_dsa_enumerations(&path, &meta);
            if meta.dsa_ground == crate::DsaGround::IncompatibleContent
                && meta.terms_reference.as_deref().is_none_or(|t| t.trim().is_empty())
            {
                self.error(
                    &path,
                    format!(
                        "policy `{}`: dsa_ground = \"incompatible_content\" needs a terms_reference (the clause of the terms it applies)",
                        meta.id
                    ),
                );
            }
            if file.rule.is_empty() {
                self.error(&path, format!("policy `{}` has no [[rule]]", meta.id));
            }
            let mut rules: Vec<Rule> = Vec::new();
            for def in file.rule {
                if rules.iter().any(|r| r.id == def.id) {
                    self.error(&path, format!("rule id `{}` is used twice in policy `{}`", def.id, meta.id));
                    continue;
                }
                let parsed = match expr::parse(&def.when) {
                    Ok(e) => e,
                    Err(e) => {
                        self.error(&path, format!("rule `{}`: `when` {e}", def.id));
                        continue;
                    }
                };
                let scope = Names { sets: &set_ids, defines: &defines, external: &external_signals, infos: &info_ids };
                let test = match self.resolve(&parsed, &scope, &path, &def.id, &mut Vec::new()) {
                    Some(t) => t,
                    None => continue,
                };
                if parsed.is_contradiction() {
                    self.error(
                        &path,
                        format!("rule `{}` can never fire: its `when` requires a signal and its negation", def.id),
                    );
                }
                let mut requires = Vec::new();
                test.negated_infos(false, &mut requires);
                requires.retain(|&i| !infos[i].is_condition());
                if def.condition == Some(Condition::InformationRequired) && requires.is_empty() {
                    self.warn(
                        &path,
                        format!(
                            "rule `{}` requires information but names no [info] item under `!` in its `when`",
                            def.id
                        ),
                    );
                }
                match (def.action, def.condition) {
                    (Action::Restrict, None) => self.warn(&path, format!("rule `{}` restricts without a condition (adults_only, documents_required, licence_required, information_required)", def.id)),
                    (a, Some(_)) if a != Action::Restrict => self.warn(&path, format!("rule `{}`: condition is only meaningful with action = \"restrict\"", def.id)),
                    _ => {}
                }
                let mut exceptions = Vec::new();
                test.exception_sets(false, &mut exceptions);
                let mut uncertain_exceptions: Vec<SetId> = exceptions
                    .into_iter()
                    .filter(|&(set, may_be_certain)| !(may_be_certain && sets[set].certain))
                    .map(|(set, _)| set)
                    .collect();
                uncertain_exceptions.sort_unstable();
                uncertain_exceptions.dedup();
                rules.push(Rule {
                    id: def.id,
                    action: def.action,
                    condition: def.condition,
                    explain: def.explain,
                    legal_basis: def.legal_basis.filter(|b| !b.trim().is_empty()),
                    when: def.when,
                    trigger: test.trigger(),
                    test,
                    parsed,
                    uncertain_exceptions,
                    requires,
                });
            }
            let semantic =
                file.semantic.and_then(|def| self.semantic(&path, &meta.id, def, &set_ids, &external_signals, &rules));
            pending_tests.push((path.clone(), meta.id.clone(), file.test));
            policies.push(Policy {
                id: meta.id,
                title: meta.title,
                legal_basis: meta.legal_basis,
                scope: meta.scope,
                countries,
                dsa_category: meta.dsa_category,
                dsa_keywords: meta.dsa_keywords,
                dsa_ground: meta.dsa_ground,
                terms_reference: meta.terms_reference,
                severity: meta.severity.unwrap_or_else(|| default_severity(&rules)),
                four_eyes: meta.four_eyes,
                notes: meta.notes,
                file: path,
                rules,
                semantic,
            });
        }

        // A pack without rules compiles to a gate that allows everything:
        // an empty or truncated policy folder must fail, not pass.
        if policies.iter().all(|p| p.rules.is_empty()) && self.errors.is_empty() {
            self.error(
                "pack",
                "no policy has a [[rule]]: a pack without rules would allow every listing (is the folder complete?)",
            );
        }

        let mut tests = Vec::new();
        for (path, policy_id, defs) in pending_tests {
            for (i, def) in defs.into_iter().enumerate() {
                match test_case(&path, &policy_id, i + 1, def) {
                    Ok(t) => {
                        if let Some(rule) = &t.expect_rule {
                            let known =
                                policies.iter().any(|p| p.id == policy_id && p.rules.iter().any(|r| &r.id == rule));
                            if !known {
                                self.error(
                                    &path,
                                    format!(
                                        "test {}: expect_rule `{rule}` is not a rule of policy `{policy_id}`",
                                        i + 1
                                    ),
                                );
                            }
                        }
                        for name in t.signals.iter().filter(|n| !external_signals.contains(n)) {
                            self.error(
                                &path,
                                format!(
                                    "test {}: signal `{name}` is not declared in pack.toml's external_signals",
                                    i + 1
                                ),
                            );
                        }
                        tests.push(t);
                    }
                    Err(message) => self.error(&path, message),
                }
            }
        }

        let reads_quantities = policies.iter().flat_map(|p| &p.rules).any(|r| r.parsed.uses_quantities());
        if reads_quantities && lexicon.size().0 == 0 {
            self.warn("pack", "rules compare quantities but the pack has no [[unit]] words: no quantity can be read");
        }
        let (reasons, seller_texts, procedures) = self.people(people, &policies);

        match (self.errors.is_empty(), matcher) {
            (true, Some(matcher)) => Ok(Pack {
                name,
                description,
                version,
                territories,
                external_signals,
                sets,
                infos,
                defines: {
                    let mut d: Vec<_> = defines.into_iter().map(|(n, (f, e))| (n, f, e)).collect();
                    d.sort_by(|a, b| a.0.cmp(&b.0));
                    d
                },
                policies,
                tests,
                lexicon,
                reasons,
                seller_texts,
                procedures,
                matcher,
                warnings: self.warnings,
            }),
            _ => Err(PackError::Invalid(self.errors)),
        }
    }

    /// Checks the pack's procedures, reasons and seller texts against its
    /// policies.
    #[allow(clippy::type_complexity)]
    fn people(
        &mut self,
        files: Vec<(
            String,
            Vec<procedures::ReasonDef>,
            BTreeMap<String, BTreeMap<String, String>>,
            Option<procedures::ProceduresDef>,
        )>,
        policies: &[Policy],
    ) -> (Vec<procedures::Reason>, BTreeMap<String, BTreeMap<String, String>>, procedures::Procedures) {
        let ids: Vec<&str> = policies.iter().map(|p| p.id.as_str()).collect();
        let mut reasons: Vec<procedures::Reason> = Vec::new();
        let mut texts = BTreeMap::new();
        let mut settings: Option<(String, procedures::Procedures)> = None;
        for (path, reason_defs, seller_texts, procedures_def) in files {
            for def in reason_defs {
                match procedures::reason(def, &path, &ids) {
                    Ok(r) if reasons.iter().any(|o| o.code == r.code) => {
                        self.error(&path, format!("reason `{}` is defined twice", r.code));
                    }
                    Ok(r) => reasons.push(r),
                    Err(messages) => messages.into_iter().for_each(|m| self.error(&path, m)),
                }
            }
            for (policy, t) in seller_texts {
                if texts.contains_key(&policy) {
                    self.error(&path, format!("[seller_text.{policy}] is defined twice"));
                    continue;
                }
                match procedures::seller_text(&policy, t, &ids) {
                    Ok(t) => {
                        texts.insert(policy, t);
                    }
                    Err(messages) => messages.into_iter().for_each(|m| self.error(&path, m)),
                }
            }
            if let Some(def) = procedures_def {
                if let Some((first, _)) = &settings {
                    self.error(&path, format!("a second [procedures] table (the first is in {first})"));
                    continue;
                }
                let (p, messages) = procedures::procedures(&def);
                messages.into_iter().for_each(|m| self.error(&path, m));
                settings = Some((path, p));
            }
        }
        if !reasons.is_empty() {
            for policy in policies {
                let offered: Vec<_> =
                    reasons.iter().filter(|r| r.offered_for(std::slice::from_ref(&policy.id))).collect();
                for outcome in [Action::Allow, Action::Block] {
                    if !offered.iter().any(|r| r.outcomes.contains(&outcome)) {
                        self.warn(
                            &policy.file,
                            format!("policy `{}`: no [[reason]] lets a reviewer {outcome} its items", policy.id),
                        );
                    }
                }
            }
        }
        (reasons, texts, settings.map(|(_, p)| p).unwrap_or_default())
    }

    /// Resolves names to term sets, defines (expanded in place) and
    /// external signals. `stack` holds the defines being expanded, to
    /// report cycles instead of recursing forever.
    fn resolve(
        &mut self,
        e: &Expr,
        names: &Names,
        file: &str,
        rule: &str,
        stack: &mut Vec<String>,
    ) -> Option<Predicate> {
        Some(match e {
            Expr::Signal { name, field } => match (names.sets.get(name), names.defines.get(name)) {
                (Some(&set), _) => Predicate::Set { set, field: *field },
                (None, Some((_, body))) => {
                    if let Some(field) = field {
                        // A define that is a union of term sets can be read in one field.
                        let Some(hits) = define_hits(body) else {
                            self.error(
                                file,
                                format!("rule `{rule}`: `{name}@…`: only a define that is a union of term sets can be restricted to a field"),
                            );
                            return None;
                        };
                        let source = self.resolve_hits(&hits, names, file, rule, "@field")?;
                        return Some(Predicate::Hits(HitSource::InField(Box::new(source), *field)));
                    }
                    if stack.contains(name) {
                        self.error(
                            file,
                            format!("rule `{rule}`: define `{name}` refers to itself ({} → {name})", stack.join(" → ")),
                        );
                        return None;
                    }
                    stack.push(name.clone());
                    let inner = self.resolve(body, names, file, rule, stack);
                    stack.pop();
                    inner?
                }
                (None, None) if names.external.contains(name) || TEXT_SIGNALS.contains(&name.as_str()) => {
                    // Their evidence is not tied to one text field: a field
                    // restriction would be silently ignored, so refuse it.
                    if field.is_some() {
                        self.error(
                            file,
                            format!(
                                "rule `{rule}`: `{name}@…`: external and text signals cannot be restricted to a field"
                            ),
                        );
                        return None;
                    }
                    Predicate::External(name.clone())
                }
                (None, None) if names.infos.contains_key(name) => {
                    if field.is_some() {
                        self.error(
                            file,
                            format!("rule `{rule}`: `{name}@…`: an info item cannot be restricted to a field"),
                        );
                        return None;
                    }
                    Predicate::Info(names.infos[name])
                }
                (None, None) => {
                    self.error(file, format!("rule `{rule}`: `{name}` is neither a term set, a define, a quantity, an [info] item nor an external signal declared in pack.toml"));
                    return None;
                }
            },
            Expr::Near { a, b, words } => {
                let a = self.resolve_hits(a, names, file, rule, "near");
                let b = self.resolve_hits(b, names, file, rule, "near");
                Predicate::Near { a: a?, b: b?, words: *words }
            }
            Expr::Hits(hits) => Predicate::Hits(self.resolve_hits(hits, names, file, rule, "without")?),
            Expr::Has(kind) => Predicate::Has(*kind),
            Expr::Compare { kind, aggregate, op, value } => {
                Predicate::Compare { kind: *kind, aggregate: *aggregate, op: *op, value: *value }
            }
            Expr::Not(inner) => Predicate::Not(Box::new(self.resolve(inner, names, file, rule, stack)?)),
            Expr::And(items) => Predicate::All(
                items.iter().map(|i| self.resolve(i, names, file, rule, stack)).collect::<Option<Vec<_>>>()?,
            ),
            Expr::Or(items) => Predicate::Any(
                items.iter().map(|i| self.resolve(i, names, file, rule, stack)).collect::<Option<Vec<_>>>()?,
            ),
        })
    }
}

impl Compiler {
    /// The words of a per-language table, with unknown keys and values
    /// that are not lists of strings reported.
    fn word_lists(&mut self, path: &str, table: &str, languages: &BTreeMap<String, toml::Value>) -> Vec<String> {
        let mut out = Vec::new();
        for (key, value) in languages {
            if key == "description" || key == "source" {
                continue;
            }
            if !LANGUAGE_KEYS.contains(&key.as_str()) {
                self.error(
                    path,
                    format!("{table}: unknown key `{key}` (expected a language code: {})", LANGUAGE_KEYS.join(" ")),
                );
                continue;
            }
            match string_list(value) {
                Some(list) => out.extend(list.into_iter().map(str::to_string)),
                None => self.error(path, format!("{table}: `{key}` must be a list of strings")),
            }
        }
        out
    }

    fn resolve_hits(&mut self, hits: &Hits, names: &Names, file: &str, rule: &str, form: &str) -> Option<HitSource> {
        Some(match hits {
            Hits::Set(name) => {
                match (names.sets.get(name), names.defines.get(name)) {
                    (Some(&set), _) => HitSource::Set(set),
                    // A define that is a union of sets (`a | b | without(c, x, 2)`) is a source too.
                    (None, Some((_, body))) => match define_hits(body) {
                        Some(inner) => self.resolve_hits(&inner, names, file, rule, form)?,
                        None => {
                            self.error(file, format!("rule `{rule}`: `{form}` takes term sets; define `{name}` is not a union of term sets"));
                            return None;
                        }
                    },
                    (None, None) => {
                        self.error(file, format!("rule `{rule}`: `{form}` takes term sets; `{name}` is not one"));
                        return None;
                    }
                }
            }
            Hits::Without { source, exception, words } => {
                let Some(&exception) = names.sets.get(exception) else {
                    self.error(
                        file,
                        format!("rule `{rule}`: `without` takes a term set as its exception; `{exception}` is not one"),
                    );
                    return None;
                };
                let source = self.resolve_hits(source, names, file, rule, "without")?;
                HitSource::Without { source: Box::new(source), exception, words: *words }
            }
            Hits::Any(items) => HitSource::Any(
                items.iter().map(|i| self.resolve_hits(i, names, file, rule, form)).collect::<Option<Vec<_>>>()?,
            ),
        })
    }
}

/// A define's body read as a hit source, when it is a union of names and
/// `without(…)` sources.
fn define_hits(body: &Expr) -> Option<Hits> {
    match body {
        Expr::Signal { name, field: None } => Some(Hits::Set(name.clone())),
        Expr::Hits(hits) => Some(hits.clone()),
        Expr::Or(items) => items.iter().map(define_hits).collect::<Option<Vec<_>>>().map(Hits::Any),
        _ => None,
    }
}

impl Predicate {
    /// The sets this predicate uses as exceptions: under `!`, or as the
    /// exception of a `without`; with whether that use may be certain (a
    /// field-restricted `!set@field` or a `without`; over the whole
    /// listing, `!set` never is).
    fn exception_sets(&self, negated: bool, out: &mut Vec<(SetId, bool)>) {
        fn of_hits(hits: &HitSource, negated: bool, out: &mut Vec<(SetId, bool)>) {
            match hits {
                HitSource::Set(set) if negated => out.push((*set, false)),
                HitSource::Set(_) => {}
                HitSource::Without { source, exception, .. } => {
                    out.push((*exception, !negated));
                    of_hits(source, negated, out);
                }
                HitSource::Any(items) => items.iter().for_each(|i| of_hits(i, negated, out)),
                HitSource::InField(source, _) => of_hits(source, negated, out),
            }
        }
        match self {
            Predicate::Set { set, field } if negated => out.push((*set, field.is_some())),
            Predicate::Near { a, b, .. } => {
                of_hits(a, negated, out);
                of_hits(b, negated, out);
            }
            Predicate::Hits(hits) => of_hits(hits, negated, out),
            Predicate::Not(inner) => inner.exception_sets(!negated, out),
            Predicate::All(items) | Predicate::Any(items) => items.iter().for_each(|i| i.exception_sets(negated, out)),
            _ => {}
        }
    }
}

/// `line L, column C: ` (1-based, columns in characters) for a byte offset.
fn line_column(text: &str, offset: usize) -> String {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: ")
}

/// A TOML value as a list of strings, if it is one.
fn string_list(value: &toml::Value) -> Option<Vec<&str>> {
    value.as_array()?.iter().map(toml::Value::as_str).collect()
}

/// What names in a `when` expression can refer to.
struct Names<'a> {
    sets: &'a HashMap<String, SetId>,
    defines: &'a HashMap<String, (String, Expr)>,
    external: &'a [String],
    infos: &'a HashMap<String, usize>,
}

fn is_snake_case(id: &str) -> bool {
    !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && id.as_bytes()[0].is_ascii_lowercase()
}

fn test_case(path: &str, policy: &str, number: usize, def: TestCaseDef) -> Result<TestCase, String> {
    let attributes = def
        .attributes
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect();
    let seller = match def.seller {
        Some(table) => {
            let value = serde_json::to_value(&table).map_err(|e| format!("test {number}: seller: {e}"))?;
            Some(serde_json::from_value(value).map_err(|e| format!("test {number}: seller: {e}"))?)
        }
        None => None,
    };
    let listing = Listing {
        id: format!("{path}#{number}"),
        seller,
        images: def
            .images
            .into_iter()
            .map(|url| crate::listing::ImageRef { url: Some(url), ..Default::default() })
            .collect(),
        title: def.title,
        description: def.description,
        category: def.category,
        attributes,
        language: def.language,
        ship_to: def.ship_to.into_iter().map(|s| s.to_ascii_uppercase()).collect(),
        ..Listing::default()
    };
    listing.validate(&crate::listing::Limits::default()).map_err(|e| format!("test {number}: {e}"))?;
    Ok(TestCase {
        policy: policy.to_string(),
        file: path.to_string(),
        number,
        listing,
        expect: def.expect,
        expect_rule: def.expect_rule,
        note: def.note,
        signals: def.signals,
    })
}

/// Groups test cases by policy id, for reporting.
pub fn tests_by_policy(pack: &Pack) -> BTreeMap<&str, Vec<&TestCase>> {
    let mut out: BTreeMap<&str, Vec<&TestCase>> = BTreeMap::new();
    for t in &pack.tests {
        out.entry(t.policy.as_str()).or_default().push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Gate, Listing};

    fn pack(body: &str) -> Result<Pack, PackError> {
        pack_with(&[], body)
    }

    /// [`pack`] beside more files, as `(path, contents)`.
    fn pack_with(more: &[(&str, &str)], body: &str) -> Result<Pack, PackError> {
        let head = "[policy]\nid = \"p\"\ntitle = \"t\"\nlegal_basis = \"b\"\nscope = [\"EU\"]\n\
                    dsa_category = \"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS\"\n\
                    [terms.a]\nen = [\"alpha\"]\n[terms.b]\nen = [\"beta\"]\n";
        let mut files = vec![("p.toml".into(), format!("{head}{body}"))];
        files.extend(more.iter().map(|&(path, contents)| (path.into(), contents.into())));
        Pack::from_sources(files)
    }

    /// A `[semantic]` table is checked like the rest: its signal declared,
    /// its candidates term sets, a threshold that is a cosine, exemplars;
    /// and a rule naming its signal may send to review, never block.
    #[test]
    fn semantic_tables_are_checked_and_their_signal_only_reviews() {
        let manifest = "[pack]\nname = \"n\"\nexternal_signals = [\"sem\"]\n";
        let policy = |rule_action: &str, semantic: &str| {
            let head = "[policy]\nid = \"p\"\ntitle = \"t\"\nlegal_basis = \"b\"\nscope = [\"EU\"]\n\
                        dsa_category = \"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS\"\n\
                        [terms.a]\nen = [\"alpha\"]\n";
            let rule = format!("[[rule]]\nid = \"r\"\naction = \"{rule_action}\"\nwhen = \"sem\"\n");
            Pack::from_sources(vec![
                ("pack.toml".into(), manifest.to_string()),
                ("p.toml".into(), format!("{head}{rule}{semantic}")),
            ])
        };
        let good = "[semantic]\nsignal = \"sem\"\nthreshold = 0.9\ncandidates = [\"a\"]\n\
                    [semantic.exemplars]\nen = [\"alpha thing 10 cm\"]\n";
        let p = policy("review", good).expect("compiles");
        let s = p.policy("p").and_then(|p| p.semantic.clone()).expect("semantic table");
        assert_eq!((s.signal.as_str(), s.candidates.len(), s.exemplars.len()), ("sem", 1, 1));
        let e = policy("block", good).expect_err("a block on a similarity").to_string();
        assert!(e.contains("may send to review, never block"), "{e}");
        for (bad, says) in [
            (good.replace("signal = \"sem\"", "signal = \"other\""), "not declared"),
            (good.replace("0.9", "1.5"), "not a cosine"),
            (good.replace("threshold = 0.9", "threshold = 0.9\nprefilter = 0"), "prefilter 0 is not a cosine"),
            (
                good.replace("[semantic.exemplars]", "[semantic.prefilter_sets]\nb = 0.5\n[semantic.exemplars]"),
                "not a candidate set",
            ),
            (good.replace("[\"a\"]", "[\"nope\"]"), "not a term set"),
            (good.replace("en = [\"alpha thing 10 cm\"]", "en = []"), "no exemplars"),
        ] {
            let e = policy("review", &bad).expect_err(says).to_string();
            assert!(e.contains(says), "{says}: {e}");
        }
    }

    /// A rule's trigger is a term set it needs rather than a quantity kind
    /// (a kind in a trigger has every listing's quantities read), the
    /// fewest first; a rule that needs a quantity alone is still found
    /// through it.
    #[test]
    fn triggers_prefer_terms_to_quantities() {
        // The units are the shipped pack's.
        let units = include_str!("../../../../policies/common/quantities.toml");
        let p = pack_with(
            &[("common/quantities.toml", units)],
            "[[rule]]\nid = \"beside\"\naction = \"block\"\nwhen = \"(a | b) & max(height) < 140 cm\"\n\
             [[rule]]\nid = \"alone\"\naction = \"review\"\nwhen = \"max(height) < 10 cm\"\n",
        )
        .expect("compiles");
        let shapes: Vec<_> =
            p.policies[0].rules.iter().map(|r| r.trigger.as_ref().map(|t| (t.sets.len(), t.kinds.len()))).collect();
        assert_eq!(shapes, [Some((2, 0)), Some((0, 1))]);
        let gate = Gate::new(p);
        let verdict = |title: &str| gate.screen(&Listing::new("1", title)).verdict;
        assert_eq!(verdict("alpha 100 cm"), Action::Block);
        assert_eq!(verdict("alpha 150 cm"), Action::Allow);
        assert_eq!(verdict("ruler 5 cm"), Action::Review);
        assert_eq!(verdict("ruler 50 cm"), Action::Allow);
    }

    #[test]
    fn defines_expand_into_rules() {
        let p = pack("[define]\nboth = \"a & b\"\n[[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"both\"\n")
            .expect("compiles");
        let gate = Gate::new(p);
        assert_eq!(gate.screen(&Listing::new("1", "alpha beta")).verdict, Action::Block);
        assert_eq!(gate.screen(&Listing::new("2", "alpha")).verdict, Action::Allow);
    }

    #[test]
    fn a_rule_cites_its_own_legal_basis_and_the_policy_its_ground() {
        let p = pack(
            "[[rule]]\nid = \"own\"\naction = \"block\"\nwhen = \"a\"\nlegal_basis = \"art. 1 al. 2\"\n\
             [[rule]]\nid = \"inherited\"\naction = \"review\"\nwhen = \"b\"\n",
        )
        .expect("compiles");
        let d = Gate::new(p).screen(&Listing::new("1", "alpha beta"));
        let basis: Vec<(&str, &str)> = d.matches.iter().map(|m| (m.rule.as_str(), m.legal_basis.as_str())).collect();
        assert_eq!(basis, [("own", "art. 1 al. 2"), ("inherited", "b")]);
        assert!(d.matches.iter().all(|m| m.dsa_ground == crate::DsaGround::IllegalContent));
        assert_eq!(d.engine_version, crate::ENGINE_VERSION);
        assert_eq!(d.schema_version, crate::DECISION_SCHEMA_VERSION);
    }

    #[test]
    fn a_terms_ground_needs_the_clause_it_applies() {
        let src = |extra: &str| {
            format!(
                "[policy]\nid = \"p\"\ntitle = \"t\"\nlegal_basis = \"b\"\nscope = [\"EU\"]\n\
                 dsa_category = \"STATEMENT_CATEGORY_OTHER_VIOLATION_TC\"\ndsa_ground = \"incompatible_content\"\n{extra}\
                 [terms.a]\nen = [\"alpha\"]\n[[rule]]\nid = \"r\"\naction = \"review\"\nwhen = \"a\"\n"
            )
        };
        let e = Pack::from_sources(vec![("p.toml".into(), src(""))]).expect_err("no clause").to_string();
        assert!(e.contains("needs a terms_reference"), "{e}");
        let ok = Pack::from_sources(vec![("p.toml".into(), src("terms_reference = \"T&C 4.2\"\n"))]).expect("clause");
        assert_eq!(ok.policies[0].dsa_ground, crate::DsaGround::IncompatibleContent);
    }

    #[test]
    fn define_errors_are_reported() {
        let cycle = "[define]\nx = \"y & a\"\ny = \"x\"\n[[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"x\"\n";
        let e = pack(cycle).expect_err("cycle").to_string();
        assert!(e.contains("refers to itself"), "{e}");
        let field = "[define]\nx = \"a & b\"\n[[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"x@title\"\n";
        assert!(pack(field).expect_err("field").to_string().contains("can be restricted to a field"));
        let clash = "[define]\na = \"b\"\n[[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"a\"\n";
        assert!(pack(clash).expect_err("clash").to_string().contains("reuses the name"));
    }

    #[test]
    fn reasons_procedures_and_seller_texts_are_pack_data() {
        let rule = "four_eyes = true\n[[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"a\"\n";
        let people = "[procedures]\nlease_minutes = 20\n[procedures.repeat_offenders]\nsuspend_at = 4\n\
                      [[reason]]\ncode = \"mine\"\npolicy = \"p\"\noutcomes = [\"block\"]\nen = \"Mine.\"\nfr = \"À moi.\"\n\
                      [[reason]]\ncode = \"fine\"\noutcomes = [\"allow\"]\nen = \"Fine.\"\n\
                      [seller_text.p]\nen = \"Rule p.\"\nfr = \"Règle p.\"\n";
        let head = "[policy]\nid = \"p\"\ntitle = \"t\"\nlegal_basis = \"b\"\nscope = [\"EU\"]\n\
                    dsa_category = \"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS\"\n";
        let files = |people: &str| {
            vec![
                ("p.toml".to_string(), format!("{head}{rule}[terms.a]\nen = [\"alpha\"]\n")),
                ("procedures.toml".to_string(), people.to_string()),
            ]
        };
        let p = Pack::from_sources(files(people)).expect("compiles");
        assert!(p.policies[0].four_eyes);
        assert_eq!(p.procedures.lease_minutes, 20);
        assert_eq!(p.procedures.repeat_offenders.suspend_at, 4);
        assert_eq!(p.procedures.appeal_months, 6, "unset settings keep their defaults");
        let offered: Vec<&str> = p.reasons_for(&["p".into()]).iter().map(|r| r.code.as_str()).collect();
        assert_eq!(offered, ["mine", "fine"], "the policy's own reasons come first");
        assert_eq!(p.reasons_for(&["other".into()]).len(), 1);
        assert_eq!(p.reason("mine").map(|r| r.text_in("fr")), Some("À moi."));
        assert_eq!(p.reason("fine").map(|r| r.text_in("fr")), Some("Fine."), "English is the fall-back");
        assert_eq!(p.seller_text("p", "de"), Some("Rule p."));

        for (bad, says) in [
            ("[[reason]]\ncode = \"x\"\noutcomes = [\"review\"]\nen = \"X.\"\n", "not an outcome a person gives"),
            ("[[reason]]\ncode = \"x\"\noutcomes = [\"block\"]\nfr = \"X.\"\n", "needs an English text"),
            ("[[reason]]\ncode = \"x\"\npolicy = \"q\"\noutcomes = [\"block\"]\nen = \"X.\"\n", "not a policy of this pack"),
            ("[[reason]]\ncode = \"x\"\noutcomes = [\"block\"]\nen = \"X.\"\noutcome = \"block\"\n", "unknown key `outcome`"),
            ("[[reason]]\ncode = \"x\"\noutcomes = [\"block\"]\nen = \"X.\"\n[[reason]]\ncode = \"x\"\noutcomes = [\"allow\"]\nen = \"Y.\"\n", "defined twice"),
            ("[procedures]\nappeal_months = 3\n", "at least six months"),
            ("[procedures.repeat_offenders]\nwarning_at = 3\nsuspend_at = 3\n", "after a warning"),
            ("[seller_text.q]\nen = \"Q.\"\n", "not a policy of this pack"),
        ] {
            let e = Pack::from_sources(files(bad)).expect_err(says).to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
