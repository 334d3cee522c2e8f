//! Term matching: every term of every set in one Aho-Corasick automaton,
//! run over a field's canonical text (and its leet readings), keeping only
//! whole-word matches.
//!
//! Why whole words, with declared exceptions: matching inside words is
//! what makes naive filters find "sabre" in "Sabrent" or "teen" across
//! "Cigarette en". A term matches only between word boundaries, with a
//! final `s`/`es` accepted for plurals; compounds are opt-in per term
//! (`sexpuppe*`, `*puppe`), because only some languages build them.
//!
//! Each term is registered in up to four spellings:
//! * as written (folded): `sex doll`;
//! * joined, for multi-word terms: `sexdoll` (sellers glue words);
//! * with doubled letters single (`dol`), usable only where the text had a
//!   run of three or more letters collapsed (`dolll`), so that `teen`'s
//!   single-letter spelling `ten` never matches the number word.

use regex::Regex;

use crate::automaton::TermAutomaton;
use crate::bytescan::first_digit_or_non_ascii;
use crate::extract::{ceil_char_boundary, floor_char_boundary};
use crate::language::Languages;
use crate::normalize::{ends_word_at, leet_variants, Folded};
use crate::scratch;
use crate::word_boundary;

thread_local! {
    /// Each screening thread's padded copy of the text being scanned
    /// ([`Matcher::find`]), reused field after field ([`crate::scratch`]).
    static PADDED: std::cell::Cell<String> = std::cell::Cell::default();
    /// Each screening thread's set of the regular expressions found in a
    /// text ([`RegexSubset::add_present`]), empty between uses and as
    /// wide as the widest subset it served.
    static FOUND_PATTERNS: std::cell::Cell<Option<regex_automata::PatternSet>> = std::cell::Cell::default();
    /// Each screening thread's list of the regular expressions to run on
    /// a text ([`Matcher::find_into`]).
    static PRESENT: std::cell::Cell<Vec<usize>> = std::cell::Cell::default();
}

/// Index of a term set in the compiled pack.
pub type SetId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Term,
    Exception,
}

#[derive(Clone, Copy, Debug)]
struct PatternUse {
    set: SetId,
    role: Role,
    open_left: bool,
    open_right: bool,
    needs_collapse: bool,
    /// A false friend: the spelling counts only in text of these languages.
    language: Option<Languages>,
}

/// A term as a policy author wrote it, split into its matching parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermSpec {
    /// Folded text of the term.
    pub folded: String,
    /// `*term`: may be preceded by more letters.
    pub open_left: bool,
    /// `term*`: may be followed by more letters.
    pub open_right: bool,
}

impl TermSpec {
    /// Parses `*term*` notation and folds the term.
    pub fn parse(raw: &str) -> TermSpec {
        let trimmed = raw.trim();
        let open_left = trimmed.starts_with('*');
        let open_right = trimmed.len() > 1 && trimmed.ends_with('*');
        let core = trimmed.trim_matches('*');
        TermSpec { folded: Folded::term(core), open_left, open_right }
    }
}

/// A whole-word match of a term set in a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub set: SetId,
    /// Byte span in the canonical text.
    pub start: usize,
    pub end: usize,
    /// For a false friend, the languages the spelling means the set in;
    /// the gate checks the field's language before counting it.
    pub language: Option<Languages>,
}

/// Builds a [`Matcher`].
#[derive(Default)]
pub struct MatcherBuilder {
    patterns: Vec<String>,
    uses: Vec<Vec<PatternUse>>,
    index: std::collections::HashMap<String, usize>,
    regexes: Vec<(Regex, SetId)>,
}

impl MatcherBuilder {
    /// Adds a term to `set`. Empty terms are ignored (lint reports them).
    pub fn term(&mut self, set: SetId, raw: &str) {
        self.add(set, raw, Role::Term, None);
    }

    /// Adds a false friend to `set`: a term that means the set only in
    /// text written in one of `languages`.
    pub fn term_in(&mut self, set: SetId, raw: &str, language: Languages) {
        self.add(set, raw, Role::Term, Some(language));
    }

    /// Adds an exception phrase to `set`.
    pub fn exception(&mut self, set: SetId, raw: &str) {
        self.add(set, raw, Role::Exception, None);
    }

    /// Adds a regular expression, matched on the canonical text, to `set`.
    pub fn pattern(&mut self, set: SetId, regex: Regex) {
        self.regexes.push((regex, set));
    }

    fn add(&mut self, set: SetId, raw: &str, role: Role, language: Option<Languages>) {
        let spec = TermSpec::parse(raw);
        if spec.folded.is_empty() {
            return;
        }
        let base = PatternUse {
            set,
            role,
            open_left: spec.open_left,
            open_right: spec.open_right,
            needs_collapse: false,
            language,
        };
        let mut spellings = vec![(spec.folded.clone(), false)];
        if spec.folded.contains(' ') {
            spellings.push((spec.folded.replace(' ', ""), false));
        }
        // The text keeps one letter of any run of three or more, so a
        // term can meet it with every doubled letter single (`doll` in
        // `dolll` → `dol`) or with only its own triples single (`class
        // iiib` in `class IIIb` → `class ib`).
        for (spelling, _) in spellings.clone() {
            for single in [single_letters(&spelling, 2), single_letters(&spelling, 3)] {
                if single != spelling && !spellings.iter().any(|(s, _)| *s == single) {
                    spellings.push((single, true));
                }
            }
        }
        for (spelling, needs_collapse) in spellings {
            // Anchoring a spelling to a word start by a leading space (the
            // haystack gets one too) keeps the automaton from reporting the
            // many in-word occurrences of short terms, which is most of
            // the matching cost. `*term` spellings may start mid-word.
            let spelling = if spec.open_left { spelling } else { format!(" {spelling}") };
            self.register(spelling, PatternUse { needs_collapse, ..base });
        }
    }

    fn register(&mut self, spelling: String, usage: PatternUse) {
        let id = match self.index.get(&spelling) {
            Some(&id) => id,
            None => {
                let id = self.patterns.len();
                self.index.insert(spelling.clone(), id);
                self.patterns.push(spelling);
                self.uses.push(Vec::new());
                id
            }
        };
        // The same spelling listed under two languages is one use.
        let uses = &mut self.uses[id];
        if !uses.iter().any(|u| {
            (u.set, u.role, u.open_left, u.open_right, u.needs_collapse, u.language)
                == (usage.set, usage.role, usage.open_left, usage.open_right, usage.needs_collapse, usage.language)
        }) {
            uses.push(usage);
        }
    }

    /// Compiles the automaton.
    pub fn build(self) -> Result<Matcher, aho_corasick::BuildError> {
        // A spelling used only where letters collapsed (`ss` read as ` s`)
        // matches at every word starting with its letters and is dropped
        // unless the field has a collapsed run: in the benchmark corpus,
        // three such spellings made 57 % of the automaton's matches. The
        // table search may leave them out; `scan` searches a field with a
        // collapsed run on the NFA, which reports every match.
        let quiet: Vec<bool> = self.uses.iter().map(|uses| used_only_after_collapse(uses)).collect();
        let automaton = TermAutomaton::build(&self.patterns, &quiet)?;
        // One pass of a RegexSet tells which patterns occur at all; only
        // those are run again to find their spans.
        let regex_set = regex::RegexSet::new(self.regexes.iter().map(|(r, _)| r.as_str()))
            .unwrap_or_else(|_| regex::RegexSet::empty());
        let reach_groups = ReachGroups::new(&self.regexes);
        Ok(Matcher {
            automaton,
            uses: self.uses,
            regexes: self.regexes,
            regex_set,
            reach_groups,
            leading_space: self.patterns.iter().map(|p| p.starts_with(' ')).collect(),
            patterns: self.patterns,
        })
    }
}

/// Whether a spelling's every use needs a collapsed letter run (`ss`
/// read as ` s`): a field without one cannot use it.
fn used_only_after_collapse(uses: &[PatternUse]) -> bool {
    !uses.is_empty() && uses.iter().all(|u| u.needs_collapse)
}

/// Collapses every run of at least `min_run` repeated ASCII letters to
/// one letter.
fn single_letters(s: &str, min_run: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        if c.is_ascii_alphabetic() && run >= min_run {
            out.push(c);
        } else {
            out.extend(&chars[i..i + run]);
        }
        i += run;
    }
    out
}

/// Whether every match of regular expression `pattern` contains a
/// character `char::is_numeric` accepts (a superset of what `\d` and
/// `[0-9]` match), so that text without one cannot match it. Decided on
/// the pattern's syntax tree, erring towards `false`.
fn needs_numeric(pattern: &str) -> bool {
    use regex_syntax::hir::{Class, Hir, HirKind};
    fn needs(hir: &Hir) -> bool {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => false,
            HirKind::Literal(literal) => match std::str::from_utf8(&literal.0) {
                Ok(text) => text.chars().any(char::is_numeric),
                Err(_) => literal.0.iter().any(u8::is_ascii_digit),
            },
            HirKind::Class(Class::Unicode(class)) => {
                !class.ranges().is_empty() && class.ranges().iter().all(|r| (r.start()..=r.end()).all(char::is_numeric))
            }
            HirKind::Class(Class::Bytes(class)) => {
                !class.ranges().is_empty()
                    && class.ranges().iter().all(|r| r.start().is_ascii_digit() && r.end().is_ascii_digit())
            }
            HirKind::Repetition(repetition) => repetition.min >= 1 && needs(&repetition.sub),
            HirKind::Capture(capture) => needs(&capture.sub),
            HirKind::Concat(parts) => parts.iter().any(needs),
            HirKind::Alternation(branches) => branches.iter().all(needs),
        }
    }
    syntax_tree(pattern).is_some_and(|hir| needs(&hir))
}

/// `pattern`'s syntax tree, parsed as `Regex::new` parses it (default
/// flags), for the analyses that group the patterns; `None` if it does
/// not parse.
pub(crate) fn syntax_tree(pattern: &str) -> Option<regex_syntax::hir::Hir> {
    regex_syntax::ParserBuilder::new().build().parse(pattern).ok()
}

/// Bytes every match of `pattern` holds, if `regex_syntax`'s literal
/// extraction finds some: every match starts with one of its prefix
/// literals and ends with one of its suffix literals, so it holds the
/// start the literals of either kind share (the longer of the two).
fn required_bytes(pattern: &str) -> Option<Vec<u8>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = syntax_tree(pattern)?;
    [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .filter_map(|kind| {
            // A class of letters (`[a-z]`) is 26 literals, over the default limit.
            let literals = Extractor::new().kind(kind).limit_class(32).extract(&hir);
            literals.longest_common_prefix().map(<[u8]>::to_vec)
        })
        .max_by_key(Vec::len)
        .filter(|bytes| !bytes.is_empty())
}

/// How far a match of a pattern that needs a numeric character reaches
/// beside its numeric characters, in bytes of other characters: the
/// window around each numeric character of a text that holds every match
/// through it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Reach {
    /// Before the first numeric character.
    before: usize,
    /// After the last, widened so that `before + after` spans the widest
    /// gap between two numeric characters in a row: their windows meet,
    /// and are merged into one ([`numeric_windows`]).
    after: usize,
}

impl Reach {
    fn max(self, other: Reach) -> Reach {
        Reach { before: self.before.max(other.before), after: self.after.max(other.after) }
    }
}

/// What a part of a pattern matches, in bytes outside characters
/// `char::is_numeric` accepts ("other bytes"), at most, over its matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stretch {
    /// Other bytes in a match that holds no numeric character; `None`:
    /// every match holds one.
    bare: Option<usize>,
    /// Over the matches that hold one: other bytes before the first, after
    /// the last and between two in a row. `None`: no match holds one.
    numeric: Option<Edges>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Edges {
    before: usize,
    after: usize,
    gap: usize,
}

impl Edges {
    fn max(self, other: Edges) -> Edges {
        Edges {
            before: self.before.max(other.before),
            after: self.after.max(other.after),
            gap: self.gap.max(other.gap),
        }
    }
}

/// The larger of two maxima, either of which may be missing.
fn larger<T>(a: Option<T>, b: Option<T>, max: impl FnOnce(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(max(a, b)),
        (a, b) => a.or(b),
    }
}

impl Stretch {
    const EMPTY: Stretch = Stretch { bare: Some(0), numeric: None };

    /// One character (or byte) of a class: numeric, other (of up to
    /// `other` bytes), or either.
    fn one_of(numeric: bool, other: Option<usize>) -> Stretch {
        Stretch { bare: other, numeric: numeric.then_some(Edges { before: 0, after: 0, gap: 0 }) }
    }

    /// Whether a match may hold a byte of another character.
    fn has_other_bytes(&self) -> bool {
        self.bare.is_some_and(|bare| bare > 0) || self.numeric.is_some_and(|e| e.before + e.after + e.gap > 0)
    }

    /// A match of `self` followed by one of `next`.
    fn then(self, next: Stretch) -> Option<Stretch> {
        let options = [
            // Numbers only in `self`, or only in `next`, or in both.
            self.numeric.zip(next.bare).map(|(e, bare)| Some(Edges { after: e.after.checked_add(bare)?, ..e })),
            next.numeric.zip(self.bare).map(|(e, bare)| Some(Edges { before: bare.checked_add(e.before)?, ..e })),
            self.numeric.zip(next.numeric).map(|(a, b)| {
                Some(Edges {
                    before: a.before,
                    after: b.after,
                    gap: a.gap.max(b.gap).max(a.after.checked_add(b.before)?),
                })
            }),
        ];
        let mut numeric = None;
        for option in options.into_iter().flatten() {
            numeric = larger(numeric, Some(option?), Edges::max);
        }
        let bare = match (self.bare, next.bare) {
            (Some(a), Some(b)) => Some(a.checked_add(b)?),
            _ => None,
        };
        Some(Stretch { bare, numeric })
    }

    /// A match of `self` or one of `other`.
    fn or(self, other: Stretch) -> Stretch {
        Stretch {
            bare: larger(self.bare, other.bare, usize::max),
            numeric: larger(self.numeric, other.numeric, Edges::max),
        }
    }
}

/// Above this many copies, a bounded repetition's stretch is not
/// worked out copy by copy; it counts as unbounded.
const REPETITIONS_WORKED_OUT: u32 = 64;

/// How far a match of `pattern` reaches beside its numeric characters;
/// `None` when a match may hold no numeric character, when its other
/// bytes are unbounded (`[a-z]+`), or when the pattern does not parse.
/// `[0-9]+ ?mg` gives nothing before and 3 after: however long the
/// number, the rest of a match is a space and two letters.
fn reach_around_numerics(pattern: &str) -> Option<Reach> {
    use regex_syntax::hir::{Class, Hir, HirKind};
    fn stretch(hir: &Hir) -> Option<Stretch> {
        Some(match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => Stretch::EMPTY,
            HirKind::Literal(literal) => match std::str::from_utf8(&literal.0) {
                Ok(text) => text.chars().try_fold(Stretch::EMPTY, |sofar, c| {
                    sofar.then(Stretch::one_of(c.is_numeric(), (!c.is_numeric()).then(|| c.len_utf8())))
                })?,
                Err(_) => literal.0.iter().try_fold(Stretch::EMPTY, |sofar, b| {
                    sofar.then(Stretch::one_of(b.is_ascii_digit(), (!b.is_ascii_digit()).then_some(1)))
                })?,
            },
            HirKind::Class(Class::Unicode(class)) => {
                let ranges = class.ranges();
                let numeric = ranges.iter().any(|r| (r.start()..=r.end()).any(char::is_numeric));
                let all_numeric = ranges.iter().all(|r| (r.start()..=r.end()).all(char::is_numeric));
                Stretch::one_of(numeric, if all_numeric { None } else { class.maximum_len() })
            }
            HirKind::Class(Class::Bytes(class)) => {
                let ranges = class.ranges();
                let numeric = ranges.iter().any(|r| (r.start()..=r.end()).any(|b| b.is_ascii_digit()));
                let all_numeric = ranges.iter().all(|r| r.start().is_ascii_digit() && r.end().is_ascii_digit());
                Stretch::one_of(numeric, (!all_numeric).then_some(1))
            }
            HirKind::Repetition(repetition) => {
                let sub = stretch(&repetition.sub)?;
                let most = repetition.max.filter(|&max| max <= REPETITIONS_WORKED_OUT);
                match most {
                    // Copies of a part without other bytes are numbers back to back.
                    _ if !sub.has_other_bytes() => {
                        Stretch { bare: sub.bare.or((repetition.min == 0).then_some(0)), ..sub }
                    }
                    None => return None,
                    Some(most) => {
                        let (mut copies, mut all) = (Stretch::EMPTY, None);
                        for count in 0..=most {
                            if count >= repetition.min {
                                all = larger(all, Some(copies), Stretch::or);
                            }
                            copies = copies.then(sub)?;
                        }
                        all?
                    }
                }
            }
            HirKind::Capture(capture) => stretch(&capture.sub)?,
            HirKind::Concat(parts) => {
                parts.iter().try_fold(Stretch::EMPTY, |sofar, part| sofar.then(stretch(part)?))?
            }
            HirKind::Alternation(branches) => {
                let mut branches = branches.iter().map(stretch);
                let first = branches.next()??;
                branches.try_fold(first, |all, branch| Some(all.or(branch?)))?
            }
        })
    }
    let whole = stretch(&syntax_tree(pattern)?)?;
    let edges = whole.numeric.filter(|_| whole.bare.is_none())?;
    Some(Reach { before: edges.before, after: edges.after.max(edges.gap.saturating_sub(edges.before)) })
}

/// Byte spans of the characters of `text` that `char::is_numeric` accepts.
/// ASCII is skipped as bytes: decoding every character cost more than
/// the searches the windows save.
fn numeric_chars(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let start = at + first_digit_or_non_ascii(bytes.get(at..)?)?;
        let c = text.get(start..)?.chars().next()?;
        at = start + c.len_utf8();
        if c.is_numeric() {
            return Some((start, at));
        }
    })
}

/// Some of the matcher's regular expressions as a set of their own.
struct RegexSubset {
    /// The patterns with their word boundaries read as ASCII ones
    /// ([`word_boundary`]): the set searched first, which the lazy DFA
    /// decides on any text.
    ascii: regex_automata::meta::Regex,
    /// The patterns as written, when some hold a Unicode word boundary:
    /// searched where the two readings may differ.
    exact: Option<ExactSet>,
    /// Index in `Matcher::regexes` of each pattern of the sets.
    indices: Vec<usize>,
    /// For a set of one pattern, bytes every match of it holds, when
    /// there are some ([`required_bytes`]).
    required: Option<Required>,
}

/// A [`RegexSubset`]'s patterns as written.
struct ExactSet {
    set: regex_automata::meta::Regex,
    /// Every pattern's ASCII reading matches wherever it does
    /// ([`word_boundary::ascii_reading_widens`]).
    ascii_widens: bool,
}

/// Bytes every match of a regular expression holds ([`required_bytes`]),
/// looked for before the expression is searched. The search would find
/// them as fast with its own literal prefilter, but the call around it
/// costs more than the search on most fields, which do not hold them
/// (BENCHMARKS.md, issue 14, fifteenth step).
struct Required(memchr::memmem::Finder<'static>);

impl Required {
    fn of(pattern: &str) -> Option<Required> {
        required_bytes(pattern).map(|bytes| Required(memchr::memmem::Finder::new(&bytes).into_owned()))
    }

    /// Whether `haystack` may hold a match: always, without required bytes.
    fn may_match(required: &Option<Required>, haystack: &[u8]) -> bool {
        required.as_ref().is_none_or(|Required(bytes)| bytes.find(haystack).is_some())
    }
}

impl RegexSubset {
    /// `indices` (in `regexes`, not empty) as one set, configured as
    /// `regex::RegexSet` configures its own.
    fn new(regexes: &[(Regex, SetId)], indices: Vec<usize>) -> Option<RegexSubset> {
        use regex_automata::{meta, nfa::thompson::WhichCaptures, util::syntax, MatchKind};
        let config = meta::Config::new()
            .nfa_size_limit(Some(10 * (1 << 20)))
            .hybrid_cache_capacity(2 * (1 << 20))
            .match_kind(MatchKind::All)
            .utf8_empty(true)
            .which_captures(WhichCaptures::None);
        let patterns: Vec<&str> = indices.iter().map(|&i| regexes[i].0.as_str()).collect();
        // Parsed as `meta::Builder::build_many` parses them, so that the
        // set as written is the one it would build.
        let trees = syntax::parse_many_with(&patterns, &syntax::Config::new().utf8(true)).ok()?;
        let build = |trees: &[regex_syntax::hir::Hir]| {
            meta::Builder::new().configure(config.clone()).build_many_from_hir(trees).ok()
        };
        let ascii_trees: Vec<_> = trees.iter().map(word_boundary::with_ascii_boundaries).collect();
        let exact = match trees.iter().any(word_boundary::has_unicode_boundary) {
            true => Some(ExactSet {
                set: build(&trees)?,
                ascii_widens: trees.iter().all(word_boundary::ascii_reading_widens),
            }),
            false => None,
        };
        let required = match patterns.as_slice() {
            [pattern] => Required::of(pattern),
            _ => None,
        };
        Some(RegexSubset { ascii: build(&ascii_trees)?, exact, indices, required })
    }

    /// The set whose answer for `text[start..end]` is that of the
    /// patterns as written, or `None` when they cannot match there.
    fn set_for(&self, text: &str, start: usize, end: usize) -> Option<&regex_automata::meta::Regex> {
        let Some(exact) = &self.exact else {
            return Some(&self.ascii);
        };
        if word_boundary::reads_the_same(text, start, end) {
            return Some(&self.ascii);
        }
        let input = regex_automata::Input::new(text).span(start..end);
        if exact.ascii_widens && !self.ascii.is_match(input) {
            return None;
        }
        Some(&exact.set)
    }

    /// Adds to `present` the index in `Matcher::regexes` of each pattern
    /// with a match inside one of `spans` of `text` (look-arounds see the
    /// whole text).
    fn add_present(&self, text: &str, spans: impl IntoIterator<Item = (usize, usize)>, present: &mut Vec<usize>) {
        use regex_automata::{Input, PatternSet};
        let patterns = self.ascii.pattern_len();
        if patterns == 1 {
            // One pattern is present where it matches: a search that stops
            // at the first match and skips ahead by its literal prefilter,
            // where the overlapping one reads every byte of the text.
            // A match lies within its span, required bytes and all.
            let may_match =
                |start: usize, end: usize| Required::may_match(&self.required, &text.as_bytes()[start..end]);
            let is_match = |start, end| {
                self.set_for(text, start, end).is_some_and(|set| set.is_match(Input::new(text).span(start..end)))
            };
            if spans.into_iter().any(|(start, end)| may_match(start, end) && is_match(start, end)) {
                present.push(self.indices[0]);
            }
            return;
        }
        // A wider set serves as well: the slots past this subset's
        // patterns stay empty.
        let mut found = match scratch::take(&FOUND_PATTERNS) {
            Some(found) if found.capacity() >= patterns => found,
            _ => PatternSet::new(patterns),
        };
        for (start, end) in spans {
            if let Some(set) = self.set_for(text, start, end) {
                set.which_overlapping_matches(&Input::new(text).span(start..end), &mut found);
            }
            if found.len() == patterns {
                break;
            }
        }
        present.extend(found.iter().map(|i| self.indices[i.as_usize()]));
        // Given back empty. Clearing walks every slot, so it is done only
        // when something was found (most texts match no pattern).
        if !found.is_empty() {
            found.clear();
        }
        scratch::put_back(&FOUND_PATTERNS, Some(found));
    }
}

/// The windows of `text` from `reach.before` bytes before a numeric
/// character to `reach.after` bytes after it, widened to character
/// boundaries and merged where they meet, so that a match through several
/// numbers (`1 2 x 28`) lies in one of them.
fn numeric_windows(text: &str, reach: Reach) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut around = numeric_chars(text)
        .map(move |(start, end)| {
            (
                floor_char_boundary(text, start.saturating_sub(reach.before)),
                ceil_char_boundary(text, end.saturating_add(reach.after)),
            )
        })
        .peekable();
    std::iter::from_fn(move || {
        let (start, mut end) = around.next()?;
        while let Some((_, next_end)) = around.next_if(|&(next_start, _)| next_start <= end) {
            end = next_end;
        }
        Some((start, end))
    })
}

/// The regular expressions grouped by where they can match (the fast
/// path; the reference path runs them all as one set on every text).
struct ReachGroups {
    /// Those that need no numeric character, searched in every text.
    everywhere: Option<RegexSubset>,
    /// Those whose every match holds a numeric character and a bounded
    /// number of other bytes before, after and between them: searched only
    /// within `reach` of the numeric characters of a text, where each of
    /// their matches lies whole. Most patterns read numbers (`[0-9]+ ?mg`),
    /// and most of a description is far from any number.
    around_numerics: Option<RegexSubset>,
    reach: Reach,
    /// Those whose every match holds a numeric character but may run far
    /// from it (`thc ([0-9]+)( [a-z]{3,})`): taken as present in any text
    /// holding one and the bytes they require, so that their own search
    /// finds their matches (or none). Searched as a set, they would cost
    /// a scan of the whole text.
    numeric_text: Vec<(usize, Option<Required>)>,
}

impl ReachGroups {
    /// `None` if a set fails to compile (the reference set serves then).
    fn new(regexes: &[(Regex, SetId)]) -> Option<ReachGroups> {
        let (mut everywhere, mut around_numerics, mut numeric_text) = (Vec::new(), Vec::new(), Vec::new());
        // One window for the set: the widest its patterns need, on each
        // side (a unit after the number, a word such as `portee` before it).
        let mut reach = Reach::default();
        for (i, (regex, _)) in regexes.iter().enumerate() {
            let pattern = regex.as_str();
            match (needs_numeric(pattern), reach_around_numerics(pattern)) {
                (false, _) => everywhere.push(i),
                (true, None) => numeric_text.push((i, Required::of(pattern))),
                (true, Some(pattern_reach)) => {
                    around_numerics.push(i);
                    reach = reach.max(pattern_reach);
                }
            }
        }
        let compiled = |indices: Vec<usize>| match indices.is_empty() {
            true => Some(None),
            false => RegexSubset::new(regexes, indices).map(Some),
        };
        Some(ReachGroups {
            everywhere: compiled(everywhere)?,
            around_numerics: compiled(around_numerics)?,
            reach,
            numeric_text,
        })
    }

    /// Indices (ascending) of the regular expressions that may match
    /// `text`: every one that does, and some of `numeric_text` that do not.
    /// Written to `present`, which must be empty.
    fn present(&self, text: &str, present: &mut Vec<usize>) {
        if let Some(everywhere) = &self.everywhere {
            everywhere.add_present(text, [(0, text.len())], present);
        }
        let mut windows = numeric_windows(text, self.reach).peekable();
        // A text without a window holds no numeric character.
        if windows.peek().is_some() {
            if let Some(around_numerics) = &self.around_numerics {
                around_numerics.add_present(text, windows, present);
            }
            let holding =
                self.numeric_text.iter().filter(|(_, required)| Required::may_match(required, text.as_bytes()));
            present.extend(holding.map(|&(i, _)| i));
        }
        present.sort_unstable();
    }
}

/// The compiled term matcher. Immutable and shareable across threads.
pub struct Matcher {
    automaton: TermAutomaton,
    uses: Vec<Vec<PatternUse>>,
    regexes: Vec<(Regex, SetId)>,
    /// Every regular expression, in one set (the reference path).
    regex_set: regex::RegexSet,
    /// The same grouped by where they can match.
    reach_groups: Option<ReachGroups>,
    patterns: Vec<String>,
    /// Whether each spelling starts with a space (anchored at a word
    /// start), read at every match: a flag in one small array, not a
    /// load from each of 24,000 strings scattered on the heap.
    leading_space: Vec<bool>,
}

impl Matcher {
    /// Number of distinct spellings in the automaton.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// All spellings, for the raw-scan baseline of the benchmark.
    pub fn spellings(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|p| p.trim_start())
    }

    /// Finds the whole-word hits of every set in one field.
    pub fn find(&self, folded: &Folded) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.find_into(folded, false, &mut hits);
        hits
    }

    /// [`Matcher::find`] as it was before issue 14 (the oracle the
    /// faster path is tested against): every regular expression run on
    /// every field, every leet reading read whole.
    #[doc(hidden)]
    pub fn find_reference(&self, folded: &Folded) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.find_into(folded, true, &mut hits);
        hits
    }

    /// Indices (ascending) of the regular expressions that match `text`
    /// (the fast path may add some that do not: their search finds
    /// nothing), in `present`, emptied first.
    fn regexes_present(&self, text: &str, reference: bool, present: &mut Vec<usize>) {
        present.clear();
        if self.regexes.is_empty() {
            return;
        }
        match self.reach_groups.as_ref().filter(|_| !reference) {
            Some(reach_groups) => reach_groups.present(text, present),
            None => present.extend(&self.regex_set.matches(text)),
        }
    }

    /// [`Matcher::find`] (with `reference`, [`Matcher::find_reference`])
    /// into `terms`, emptied first: the gate fills one list field after
    /// field.
    pub(crate) fn find_into(&self, folded: &Folded, reference: bool, terms: &mut Vec<Hit>) {
        let text = folded.as_str();
        terms.clear();
        let mut exceptions = Vec::new();
        let mut padded = scratch::take(&PADDED);
        padded.clear();
        padded.push(' ');
        padded.push_str(text);
        self.scan(Reading::whole(&padded), folded, reference, terms, &mut exceptions);
        for variant in leet_variants(text) {
            padded.truncate(1);
            padded.push_str(&variant);
            // The reference reads the whole reading.
            let window =
                if reference { 0..padded.len() } else { self.around_decoded(text.as_bytes(), variant.as_bytes()) };
            let reading = Reading { padded: &padded, window, original: Some(text) };
            self.scan(reading, folded, reference, terms, &mut exceptions);
        }
        // Words joined by an invisible character are also read apart: all
        // at once, then (when there are several) one at a time.
        for (split, to_canonical) in
            folded.split_at_soft_boundaries().into_iter().chain(folded.split_at_each_soft_boundary())
        {
            padded.truncate(1);
            padded.push_str(split.as_str());
            let (mut split_terms, mut split_exceptions) = (Vec::new(), Vec::new());
            self.scan(Reading::whole(&padded), &split, reference, &mut split_terms, &mut split_exceptions);
            let back = |h: Hit| Hit { start: to_canonical[h.start] as usize, end: to_canonical[h.end] as usize, ..h };
            terms.extend(split_terms.into_iter().map(back));
            exceptions.extend(split_exceptions.into_iter().map(back));
        }
        scratch::put_back(&PADDED, padded);
        let mut present = scratch::take(&PRESENT);
        self.regexes_present(text, reference, &mut present);
        for (regex, set) in present.iter().filter_map(|&i| self.regexes.get(i)) {
            for m in regex.find_iter(text) {
                if m.start() < m.end() {
                    terms.push(Hit { set: *set, start: m.start(), end: m.end(), language: None });
                }
            }
        }
        scratch::put_back(&PRESENT, present);
        if !exceptions.is_empty() {
            terms.retain(|t| !exceptions.iter().any(|x: &Hit| x.set == t.set && x.start <= t.start && t.end <= x.end));
        }
        // A spelling bound to a language loses to the same match unbound.
        terms.sort_by_key(|h| (h.set, h.start, h.language.is_some(), h.end));
        terms.dedup_by_key(|h| (h.set, h.start));
    }

    /// The part of a padded leet reading the automaton must read: every
    /// match that uses a decoded character (the only ones kept) lies
    /// within the longest spelling's length of the first and last
    /// decoded bytes. A reading has the canonical text's length (each
    /// decoded byte replaces one byte), and most fields with one decode a
    /// single short word of a long description.
    fn around_decoded(&self, canonical: &[u8], reading: &[u8]) -> std::ops::Range<usize> {
        let padded_len = reading.len() + 1;
        let first = canonical.iter().zip(reading).position(|(a, b)| a != b);
        let last = canonical.iter().zip(reading).rposition(|(a, b)| a != b);
        let (Some(first), Some(last)) = (first, last) else {
            return 0..0;
        };
        let reach = self.automaton.max_pattern_len();
        // `+ 1`: offsets in the padded text.
        (first + 1).saturating_sub(reach)..(last + 1 + reach).min(padded_len)
    }

    /// Scans `reading`. The `reference` path searches with the NFA alone.
    fn scan(
        &self,
        reading: Reading<'_>,
        folded: &Folded,
        reference: bool,
        terms: &mut Vec<Hit>,
        exceptions: &mut Vec<Hit>,
    ) {
        let Reading { padded, window, original } = reading;
        let bytes = &padded.as_bytes()[1..];
        let Some(haystack) = padded.as_bytes().get(window.clone()) else {
            return;
        };
        let on_match = |pattern: usize, match_start: usize, match_end: usize| {
            // Back to offsets in the unpadded text; a leading-space
            // spelling starts one byte later than its match.
            let (match_start, match_end) = (match_start + window.start, match_end + window.start);
            let lead = usize::from(self.leading_space[pattern]);
            let (start, end) = ((match_start + lead).saturating_sub(1), match_end - 1);
            if start >= end {
                return;
            }
            if let Some(canonical) = original {
                if canonical.as_bytes()[start..end] == bytes[start..end] {
                    return;
                }
            }
            for usage in &self.uses[pattern] {
                if usage.needs_collapse && !folded.touches_collapsed(start, end) {
                    continue;
                }
                let Some((start, end)) = accept(bytes, start, end, usage) else {
                    continue;
                };
                let hit = Hit { set: usage.set, start, end, language: usage.language };
                match usage.role {
                    Role::Term => terms.push(hit),
                    Role::Exception => exceptions.push(hit),
                }
            }
        };
        if reference || folded.has_collapsed() {
            self.automaton.each_match_on_nfa(haystack, on_match);
        } else {
            self.automaton.each_match(haystack, on_match);
        }
    }
}

/// What [`Matcher::scan`] reads: `padded[window]`, `padded` being a space
/// followed by the canonical text or one of its leet readings. `original`
/// is the canonical text when `padded` holds a leet reading: a match there
/// must use a decoded character.
struct Reading<'a> {
    padded: &'a str,
    window: std::ops::Range<usize>,
    original: Option<&'a str>,
}

impl<'a> Reading<'a> {
    /// All of `padded`, which holds the canonical text.
    fn whole(padded: &'a str) -> Reading<'a> {
        Reading { padded, window: 0..padded.len(), original: None }
    }
}

/// Whole-word test with plural and compound allowances. Returns the span
/// to report (extended to the whole word for compounds and plurals).
fn accept(text: &[u8], start: usize, end: usize, usage: &PatternUse) -> Option<(usize, usize)> {
    let at_word_start = start == 0 || text[start - 1] == b' ';
    let start = if at_word_start {
        start
    } else if usage.open_left {
        text[..start].iter().rposition(|&b| b == b' ').map_or(0, |p| p + 1)
    } else {
        return None;
    };
    let word_end = |from: usize| (from..=text.len()).find(|&p| ends_word_at(text, p)).unwrap_or(text.len());
    if ends_word_at(text, end) {
        return Some((start, end));
    }
    if usage.open_right {
        return Some((start, word_end(end)));
    }
    let rest = &text[end..word_end(end)];
    if rest == b"s" || rest == b"es" {
        return Some((start, end + rest.len()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded pack's matcher, compiled once for the tests below.
    fn embedded() -> &'static Matcher {
        static PACK: std::sync::OnceLock<crate::policy::Pack> = std::sync::OnceLock::new();
        &PACK.get_or_init(|| crate::policy::Pack::embedded().expect("the embedded pack compiles")).matcher
    }

    /// Every match of the automaton in `haystack`, searched through its
    /// table and on the NFA alone, but those of the spellings used only
    /// after a collapse (which the table may leave out; `scan` searches a
    /// text with a collapsed run on the NFA).
    fn both_searches(m: &Matcher, haystack: &str) -> [Vec<(usize, usize, usize)>; 2] {
        let (mut table, mut nfa) = (Vec::new(), Vec::new());
        m.automaton.each_match(haystack.as_bytes(), |p, s, e| table.push((p, s, e)));
        m.automaton.each_match_on_nfa(haystack.as_bytes(), |p, s, e| nfa.push((p, s, e)));
        let quiet = |&(p, _, _): &(usize, usize, usize)| used_only_after_collapse(&m.uses[p]);
        [table, nfa].map(|mut found| {
            found.retain(|m| !quiet(m));
            found
        })
    }

    /// The embedded pack's automaton searched through its table finds
    /// what it finds on the NFA alone, in the same order, in the canonical
    /// text (and leet readings) of every field of every example listing:
    /// policy text, evasions in seven languages, sellers' words.
    #[test]
    fn the_packs_table_finds_what_its_nfa_finds_in_the_examples() {
        let m = embedded();
        let examples = [
            include_str!("../../../examples/listings.jsonl"),
            include_str!("../../../examples/labelled.jsonl"),
            include_str!("../../../examples/probe_multilingual.jsonl"),
            include_str!("../../../examples/sellers_words.jsonl"),
        ];
        let mut matches = 0;
        for line in examples.iter().flat_map(|file| file.lines()) {
            let listing = crate::Listing::from_json(line.as_bytes()).expect("an example listing parses");
            let fields = [Some(&listing.title), listing.description.as_ref(), listing.category.as_ref()];
            for text in fields.into_iter().flatten().chain(listing.attributes.iter().map(|(_, v)| v)) {
                let canonical = Folded::new(text).as_str().to_owned();
                for reading in std::iter::once(canonical.clone()).chain(leet_variants(&canonical)) {
                    let [table, nfa] = both_searches(m, &format!(" {reading}"));
                    assert_eq!(table, nfa, "in {reading:?}");
                    matches += table.len();
                }
            }
        }
        assert!(matches > 900, "only {matches} matches: the examples were not searched");
    }

    /// A spelling used only after a collapse (`AAA` read as ` a`) is found
    /// in a text where letters collapsed, as the reference finds it,
    /// though the table search leaves it out elsewhere.
    #[test]
    fn spellings_used_only_after_a_collapse_are_found_where_letters_collapsed() {
        let m = embedded();
        for text in ["AAA replica watch", "a replica watch", "Sac AAA", "sun and sea"] {
            let folded = Folded::new(text);
            assert_eq!(m.find(&folded), m.find_reference(&folded), "{text}");
        }
        let collapsed = Folded::new("AAA replica watch");
        assert!(collapsed.has_collapsed());
        assert!(m.find(&collapsed).iter().any(|hit| (hit.start, hit.end) == (0, 1)), "{:?}", m.find(&collapsed));
        let plain = Folded::new("a replica watch");
        assert!(!m.find(&plain).iter().any(|hit| (hit.start, hit.end) == (0, 1)), "{:?}", m.find(&plain));
    }

    proptest::proptest! {
        /// The same on text made of the pack's own words (so that
        /// searches go deep into the automaton, out of its table and back)
        /// mixed with words it does not know.
        #[test]
        fn the_packs_table_finds_what_its_nfa_finds_in_its_own_words(
            picks in proptest::collection::vec((0usize..1 << 20, 0usize..4, "[a-z0-9]{1,6}"), 1..40),
        ) {
            let m = embedded();
            let words: Vec<&str> = m.patterns.iter().flat_map(|p| p.split(' ')).filter(|w| !w.is_empty()).collect();
            let mut haystack = String::new();
            for (pick, cut, junk) in picks {
                let word = words[pick % words.len()];
                // Whole words, words cut short, and words the pack lacks.
                let word = match cut {
                    0 => &junk,
                    1 => word.get(..word.len() / 2).unwrap_or(word),
                    _ => word,
                };
                haystack.push(' ');
                haystack.push_str(word);
            }
            let [table, nfa] = both_searches(m, &haystack);
            proptest::prop_assert_eq!(table, nfa);
        }
    }

    fn matcher(terms: &[&str], exceptions: &[&str]) -> Matcher {
        let mut b = MatcherBuilder::default();
        for t in terms {
            b.term(0, t);
        }
        for x in exceptions {
            b.exception(0, x);
        }
        b.build().expect("automaton")
    }

    fn found(m: &Matcher, text: &str) -> Vec<String> {
        let f = Folded::new(text);
        m.find(&f)
            .into_iter()
            .map(|h| {
                let (s, e) = f.original_span(h.start, h.end);
                text[s..e].to_string()
            })
            .collect()
    }

    #[test]
    fn whole_words_only() {
        let m = matcher(&["sabre", "teen", "loli"], &[]);
        assert!(found(&m, "Sabrent USB hub").is_empty());
        assert!(found(&m, "Cigarette en cuir").is_empty());
        assert!(found(&m, "Lolly pop, Lolita dress").is_empty());
        assert_eq!(found(&m, "Sabres de cavalerie"), vec!["Sabres"]);
    }

    #[test]
    fn evasions_are_read() {
        let m = matcher(&["sex doll", "loli"], &[]);
        assert_eq!(found(&m, "SexDoll 100cm"), vec!["SexDoll"]);
        assert_eq!(found(&m, "s3x d0ll"), vec!["s3x d0ll"]);
        assert_eq!(found(&m, "l0li"), vec!["l0li"]);
        assert_eq!(found(&m, "s e x d o l l"), vec!["s e x d o l l"]);
        assert_eq!(found(&m, "seeex dolll"), vec!["seeex dolll"]);
        assert_eq!(found(&m, "ѕех doll"), vec!["ѕех doll"]);
        assert_eq!(found(&m, "sex\u{200B}doll"), vec!["sex\u{200B}doll"]);
    }

    #[test]
    fn terms_glued_to_numbers_or_hidden_spaces_are_read() {
        let m = matcher(&["sex doll", "loli", "doll"], &[]);
        assert_eq!(found(&m, "sex doll100cm"), vec!["sex doll", "doll"]);
        assert_eq!(found(&m, "Dolls150cm"), vec!["Dolls"]);
        assert_eq!(found(&m, "silicone\u{3164}loli"), vec!["loli"]);
        // The invisible character after a word is part of its evidence.
        assert_eq!(found(&m, "mini\u{200B}loli\u{200B}doll"), vec!["loli\u{200B}", "doll"]);
        assert!(found(&m, "lolita2000").is_empty(), "a longer word glued to digits is still another word");
        assert!(found(&m, "100cmdoll").is_empty(), "a unit before the term is not split (documented)");
    }

    #[test]
    fn single_letter_spellings_need_a_collapsed_run() {
        let m = matcher(&["teen"], &[]);
        assert!(found(&m, "ten dolls").is_empty());
        assert_eq!(found(&m, "teeeen"), vec!["teeeen"]);
    }

    #[test]
    fn tripled_letters_in_terms_and_text() {
        let m = matcher(&["class iiib", "doll"], &[]);
        assert_eq!(found(&m, "laser Class IIIb"), vec!["Class IIIb"]);
        assert_eq!(found(&m, "dolllll"), vec!["dolllll"]);
        assert!(found(&m, "clas ib").is_empty());
    }

    #[test]
    fn compounds_are_declared() {
        let m = matcher(&["*puppe", "sexpuppe*"], &[]);
        assert_eq!(found(&m, "Liebespuppe"), vec!["Liebespuppe"]);
        assert_eq!(found(&m, "Sexpuppen-Set"), vec!["Sexpuppen"]);
        let plain = matcher(&["puppe"], &[]);
        assert!(found(&plain, "Liebespuppe").is_empty());
    }

    #[test]
    fn patterns_that_need_a_digit_are_told_apart() {
        for numeric in [r"\b[0-9]+ ?(mg|ml)\b", r"\bglock ?(17|19)\b", r"\bportee (de )?\d", r"\b1 1 copy\b", r"x\d+"] {
            assert!(needs_numeric(numeric), "{numeric}");
        }
        for other in [r"\bmcg ?(h|hr)\b", r"[0-9]*mg", r"(\d|x)mg", r"\S+\s+\S+", r"[^a]", "("] {
            assert!(!needs_numeric(other), "{other}");
        }
        let numerics = |text| numeric_chars(text).collect::<Vec<_>>();
        assert_eq!(
            (numerics("dose 5mg"), numerics("dose ٥mg"), numerics("dose mg é")),
            (vec![(5, 6)], vec![(5, 7)], vec![])
        );
    }

    proptest::proptest! {
        /// The numeric characters found are those of `char::is_numeric`.
        #[test]
        fn numeric_chars_are_those_of_is_numeric(text in "[\\x00-\\x7f0-9é٣€😀½߀Ⅻ\u{80}\u{7ff}\u{ffff}]{0,40}") {
            let numerics: Vec<(usize, usize)> =
                text.char_indices().filter(|(_, c)| c.is_numeric()).map(|(at, c)| (at, at + c.len_utf8())).collect();
            proptest::prop_assert_eq!(numeric_chars(&text).collect::<Vec<_>>(), numerics);
        }
    }

    #[test]
    fn required_bytes_are_in_every_match() {
        let required = |pattern| required_bytes(pattern).map(|b| String::from_utf8(b).expect("UTF-8"));
        assert_eq!(required(r"\bmcg ?(h|hr|hour)\b").as_deref(), Some("mcg"));
        assert_eq!(required(r"\b(box|bottle) of [0-9]+").as_deref(), Some("bo"));
        assert_eq!(required(r"(?:^|[a-z] )([1-9][0-9]?) thc(?:$| [a-z])").as_deref(), Some(" thc"));
        assert_eq!(required(r"\bthc (?:content |level )?([1-9][0-9]?)(?:$| [a-z]{3,})").as_deref(), Some("thc "));
        assert_eq!(required(r"[0-9]+ ?(mg|ml)"), None);
        assert_eq!(required(r"(mg)?x|y"), None);
        assert_eq!(required("("), None);
    }

    #[test]
    fn reach_counts_the_bytes_beside_the_numbers() {
        let reach = |before, after| Some(Reach { before, after });
        assert_eq!(reach_around_numerics(r"\b[0-9]+ ?(mg|mcg|ug) ?ml\b"), reach(0, 7));
        // The gap between two numbers (a space) is within before + after.
        assert_eq!(reach_around_numerics(r"\b(1 8|1 4|1 2) ?oz\b"), reach(0, 3));
        assert_eq!(reach_around_numerics(r"\bportee (de |jusqu a )?\d"), reach(15, 0));
        assert_eq!(reach_around_numerics(r"x\d{2,4}é"), reach(1, 2));
        // Widened after so that windows either side of the gap meet.
        assert_eq!(reach_around_numerics(r"[0-9]x{5}[0-9]"), reach(0, 5));
        assert_eq!(reach_around_numerics(r"ab[0-9]x{5}[0-9]"), reach(2, 3));
        // A number may come first or last in an alternation's branches.
        assert_eq!(reach_around_numerics(r"(?:ab[0-9]|[0-9]cde)"), reach(2, 3));
        // A repetition counts its copies: three numbers with words between.
        assert_eq!(reach_around_numerics(r"(?:[0-9] ab ){1,3}"), reach(0, 4));
        assert_eq!(reach_around_numerics(r"(?:[0-9]+ )+mg"), None);
        assert_eq!(reach_around_numerics(r"\bthc ([1-9][0-9]?)(?:$| [a-z]{3,})"), None);
        assert_eq!(reach_around_numerics(r"(?:ab)?mg"), None);
        assert_eq!(reach_around_numerics("("), None);
    }

    /// Searched in windows around the numbers, the sets find what one set
    /// finds on the whole text (and the unbounded pattern is kept): matches spanning several numbers, at the
    /// ends of the text, next to non-ASCII letters and numerals. With a
    /// pattern whose ASCII reading may miss a match of its own (`.\b`
    /// after `é`), and without one: the sets read word boundaries as
    /// ASCII ones where that gives the same answer ([`word_boundary`]).
    #[test]
    fn windows_around_numbers_find_what_the_whole_text_holds() {
        let patterns = [
            r"\b[0-9]+ ?(mg|ml)\b",
            r"\b1 2 ?x? ?28\b",
            r"(?:^| )0(?: [0-9]+)? (?:%|percent )?thc\b",
            r"\bthc (?:level )?([1-9][0-9]?)(?:$| [a-z]{3,})",
            r"\b(box|crate) of [0-9]{2,4} (rounds|shells)\b",
            r"\bportee (de |jusqu a )?\d",
            r"\bmcg ?(h|hr)\b",
        ];
        let words = [
            "5", "mg", "1", "2", "x", "28", "0", "thc", "level", "40", "strong", "crate", "of", "120", "shells",
            "portee", "de", "٣", "é", "mcg", "h", "a", "%", "percent", "ml", "jusqu", "д", "ωω", "×",
        ];
        let reach = (Reach { before: 15, after: 12 }, 1);
        let widening = windows_find_what_the_whole_text_holds(&patterns, &words, reach);
        assert!(widening.exact.as_ref().is_some_and(|exact| exact.ascii_widens));
        let narrowing =
            windows_find_what_the_whole_text_holds(&[&patterns[..], &[r"[0-9] .\b"]].concat(), &words, reach);
        assert!(narrowing.exact.as_ref().is_some_and(|exact| !exact.ascii_widens));
    }

    /// Windows reach less after the numbers than before them, yet a match
    /// with a wide gap between two numbers lies in one: the two windows
    /// meet.
    #[test]
    fn windows_meet_across_the_widest_gap() {
        let patterns = [r"\b[0-9] x x x [0-9]\b", r"\ba [0-9]\b"];
        let words = ["1", "2", "a", "x", "x x x", "x x x 3"];
        windows_find_what_the_whole_text_holds(&patterns, &words, (Reach { before: 2, after: 7 }, 0));
    }

    /// Returns the matcher's set of the patterns searched around numbers,
    /// after checking the windows' `reach` and the number of patterns
    /// taken as present wherever a number is.
    fn windows_find_what_the_whole_text_holds(patterns: &[&str], words: &[&str], reach: (Reach, usize)) -> RegexSubset {
        let mut b = MatcherBuilder::default();
        for pattern in patterns {
            b.pattern(0, Regex::new(pattern).expect("pattern"));
        }
        let mut m = b.build().expect("matcher");
        let groups = m.reach_groups.as_ref().expect("groups");
        assert_eq!((groups.reach, groups.numeric_text.len()), reach);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..1 + state % 12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if !text.is_empty() && state % 5 != 0 {
                    text.push(' ');
                }
                text.push_str(words[(state >> 8) as usize % words.len()]);
            }
            let numerics: Vec<(usize, usize)> =
                text.char_indices().filter(|(_, c)| c.is_numeric()).map(|(at, c)| (at, at + c.len_utf8())).collect();
            assert_eq!(numeric_chars(&text).collect::<Vec<_>>(), numerics, "{text:?}");
            let whole: Vec<usize> = m.regex_set.matches(&text).into_iter().collect();
            let mut present = Vec::new();
            m.regexes_present(&text, false, &mut present);
            assert!(whole.iter().all(|i| present.contains(i)), "{text:?}: {present:?} misses some of {whole:?}");
            let extra = present.iter().filter(|i| !whole.contains(i));
            assert!(extra.copied().all(|i| groups.numeric_text.iter().any(|&(n, _)| n == i)), "{text:?}: {present:?}");
            assert_eq!(m.find(&Folded::new(&text)), m.find_reference(&Folded::new(&text)), "{text:?}");
        }
        m.reach_groups.take().and_then(|groups| groups.around_numerics).expect("a set around numbers")
    }

    /// A leet reading is read only around its decoded bytes; its hits are
    /// those of reading it whole, wherever the decoded word sits in a
    /// long field and whatever term or exception reaches into the words
    /// beside it.
    #[test]
    fn leet_readings_are_read_around_their_decoded_bytes() {
        let m = matcher(&["sex doll", "doll", "mini sex"], &["doll house"]);
        let filler = "soft cotton fabric with long sleeves ".repeat(8);
        for text in [
            format!("{filler}mini s3x d0ll"),
            format!("s3x d0ll house {filler}"),
            format!("{filler}s3x doll {filler}d0ll house"),
            format!("m1ni sex {filler}"),
        ] {
            let folded = Folded::new(&text);
            let canonical = folded.as_str();
            let readings = leet_variants(canonical);
            assert!(!readings.is_empty(), "{text:?}");
            for reading in &readings {
                let window = m.around_decoded(canonical.as_bytes(), reading.as_bytes());
                assert!(window.len() < canonical.len(), "{text:?}: {window:?}");
            }
            let hits = m.find(&folded);
            assert!(!hits.is_empty(), "{text:?}");
            assert_eq!(hits, m.find_reference(&folded), "{text:?}");
        }
    }

    #[test]
    fn exceptions_cancel_covered_matches() {
        let m = matcher(&["ivory"], &["ivory white", "couleur ivoire"]);
        assert!(found(&m, "Tablecloth ivory white").is_empty());
        assert_eq!(found(&m, "Carved ivory tusk"), vec!["ivory"]);
    }
}
