//! The `when` expressions of rules: a small boolean language over named
//! signals and quantity comparisons (see `policies/README.md`).
//!
//! Grammar, loosest first:
//!
//! ```text
//! or      := and ('|' and)*
//! and     := unary ('&' unary)*
//! unary   := '!' unary | atom
//! atom    := '(' or ')' | compare | near | without | NAME ('@' FIELD)?
//! compare := (QTY | ('max'|'min') '(' QTY ')') OP NUMBER UNIT?
//! near    := 'near' '(' hits ',' hits ',' NUMBER ')'
//! without := 'without' '(' hits ',' NAME ',' NUMBER ')'
//! hits    := source ('|' source)*
//! source  := without | NAME
//! ```
//!
//! `without(a, x, N)` is how an exception stays local: it keeps the hits
//! of `a` that have no hit of the exception set `x` within `N` words in
//! the same field, so "passport holder" cancels "passport" but a "photo"
//! five words away does not cancel "fake passport".

use std::fmt;

use crate::extract::QuantityKind;

/// Which values of a quantity a comparison looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    /// Some stated value satisfies the comparison.
    Any,
    /// The largest stated value does.
    Max,
    /// The smallest stated value does.
    Min,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl CompareOp {
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CompareOp::Lt => left < right,
            CompareOp::Le => left <= right,
            CompareOp::Gt => left > right,
            CompareOp::Ge => left >= right,
            CompareOp::Eq => (left - right).abs() < 1e-9,
        }
    }
}

/// A field a signal can be restricted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldFilter {
    Title,
    Description,
    Category,
    Attributes,
}

impl FieldFilter {
    fn parse(name: &str) -> Option<FieldFilter> {
        Some(match name {
            "title" => FieldFilter::Title,
            "description" => FieldFilter::Description,
            "category" => FieldFilter::Category,
            "attributes" => FieldFilter::Attributes,
            _ => return None,
        })
    }
}

/// Where term hits come from: a term set, or the hits of another source
/// that no hit of an exception set sits next to.
#[derive(Clone, Debug, PartialEq)]
pub enum Hits {
    Set(String),
    Without {
        source: Box<Hits>,
        exception: String,
        words: u32,
    },
    /// The hits of any of several sources (`a | without(b, x, 2)`).
    Any(Vec<Hits>),
}

impl Hits {
    fn names<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Hits::Set(name) => out.push(name),
            Hits::Without { source, exception, .. } => {
                source.names(out);
                out.push(exception);
            }
            Hits::Any(items) => items.iter().for_each(|i| i.names(out)),
        }
    }
}

/// A parsed expression. Names are resolved later, against the pack.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Signal {
        name: String,
        field: Option<FieldFilter>,
    },
    /// Hits of two sources within `words` words of each other in the
    /// same field.
    Near {
        a: Hits,
        b: Hits,
        words: u32,
    },
    /// Some hit of a `without(…)` source survives its exception.
    Hits(Hits),
    Has(QuantityKind),
    Compare {
        kind: QuantityKind,
        aggregate: Aggregate,
        op: CompareOp,
        value: f64,
    },
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    /// Every signal name the expression uses.
    pub fn signal_names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.walk(&mut |e| match e {
            Expr::Signal { name, .. } => out.push(name.as_str()),
            Expr::Near { a, b, .. } => {
                a.names(&mut out);
                b.names(&mut out);
            }
            Expr::Hits(hits) => hits.names(&mut out),
            _ => {}
        });
        out
    }

    /// Whether the expression tests or compares a quantity.
    pub fn uses_quantities(&self) -> bool {
        let mut any = false;
        self.walk(&mut |e| any |= matches!(e, Expr::Has(_) | Expr::Compare { .. }));
        any
    }

    fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Expr)) {
        visit(self);
        match self {
            Expr::Not(inner) => inner.walk(visit),
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|i| i.walk(visit)),
            _ => {}
        }
    }

    /// Whether the expression can be true at all, judged structurally:
    /// a conjunction holding both `x` and `!x` can never fire.
    pub fn is_contradiction(&self) -> bool {
        match self {
            Expr::And(items) => {
                items.iter().any(Expr::is_contradiction)
                    || items.iter().any(|a| items.iter().any(|b| matches!(b, Expr::Not(inner) if **inner == *a)))
            }
            Expr::Or(items) => items.iter().all(Expr::is_contradiction),
            _ => false,
        }
    }
}

/// An error in a `when` expression, with the byte offset where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at character {offset}: {message}")]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Name(String),
    Number(f64),
    Op(CompareOp),
    And,
    Or,
    Not,
    Open,
    Close,
    At,
    Comma,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Name(n) => write!(f, "`{n}`"),
            Token::Number(n) => write!(f, "`{n}`"),
            Token::Op(_) => f.write_str("a comparison"),
            Token::And => f.write_str("`&`"),
            Token::Or => f.write_str("`|`"),
            Token::Not => f.write_str("`!`"),
            Token::Open => f.write_str("`(`"),
            Token::Close => f.write_str("`)`"),
            Token::At => f.write_str("`@`"),
            Token::Comma => f.write_str("`,`"),
        }
    }
}

fn tokenize(source: &str) -> Result<Vec<(usize, Token)>, ExprError> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let token = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'&' => Token::And,
            b'|' => Token::Or,
            b'(' => Token::Open,
            b')' => Token::Close,
            b'@' => Token::At,
            b',' => Token::Comma,
            b'!' if bytes.get(i + 1) != Some(&b'=') => Token::Not,
            b'<' | b'>' | b'=' => {
                let eq = bytes.get(i + 1) == Some(&b'=');
                let op = match (b, eq) {
                    (b'<', false) => CompareOp::Lt,
                    (b'<', true) => CompareOp::Le,
                    (b'>', false) => CompareOp::Gt,
                    (b'>', true) => CompareOp::Ge,
                    (b'=', true) => CompareOp::Eq,
                    _ => return Err(ExprError { offset: i, message: "use `==` for equality".into() }),
                };
                i += if eq { 2 } else { 1 };
                tokens.push((start, Token::Op(op)));
                continue;
            }
            b'0'..=b'9' | b'.' => {
                let len = bytes[i..].iter().take_while(|c| c.is_ascii_digit() || **c == b'.').count();
                let text = &source[i..i + len];
                let value = text
                    .parse::<f64>()
                    .map_err(|_| ExprError { offset: i, message: format!("`{text}` is not a number") })?;
                i += len;
                tokens.push((start, Token::Number(value)));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'%' => {
                let len = bytes[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-' | b'%'))
                    .count();
                tokens.push((start, Token::Name(source[i..i + len].to_string())));
                i += len;
                continue;
            }
            _ => {
                let ch = source[i..].chars().next().unwrap_or('?');
                return Err(ExprError { offset: i, message: format!("unexpected character `{ch}`") });
            }
        };
        tokens.push((start, token));
        i += 1;
    }
    Ok(tokens)
}

/// Parses a `when` expression.
pub fn parse(source: &str) -> Result<Expr, ExprError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser { tokens, pos: 0, len: source.len() };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(t) => Err(parser.error(format!("unexpected {t} after a complete expression"))),
    }
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn error(&self, message: String) -> ExprError {
        let offset = self.tokens.get(self.pos).map_or(self.len, |(o, _)| *o);
        ExprError { offset, message }
    }

    /// One or more items separated by `sep`.
    fn separated<T>(&mut self, sep: &Token, item: fn(&mut Self) -> Result<T, ExprError>) -> Result<Vec<T>, ExprError> {
        let mut items = vec![item(self)?];
        while self.peek() == Some(sep) {
            self.pos += 1;
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut items = self.separated(&Token::Or, Self::and)?;
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut items = self.separated(&Token::And, Self::unary)?;
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ExprError> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => {
                        self.pos -= 1;
                        Err(self.error("missing `)`".into()))
                    }
                }
            }
            Some(Token::Name(name)) if (name == "max" || name == "min") && self.peek() == Some(&Token::Open) => {
                self.pos += 1;
                let aggregate = if name == "max" { Aggregate::Max } else { Aggregate::Min };
                let kind = self.quantity_name()?;
                if self.next() != Some(Token::Close) {
                    self.pos -= 1;
                    return Err(self.error(format!("missing `)` after `{name}(`")));
                }
                self.comparison(kind, aggregate)?
                    .ok_or_else(|| self.error(format!("`{name}(…)` must be compared, e.g. `{name}(height) < 140 cm`")))
            }
            Some(Token::Name(name)) if name == "near" && self.peek() == Some(&Token::Open) => {
                self.pos += 1;
                let a = self.hits()?;
                self.expect(Token::Comma, "`,` after the first set of `near(`")?;
                let b = self.hits()?;
                let words = self.distance_and_close("near(a, b, N)", "`)` to close `near(`")?;
                Ok(Expr::Near { a, b, words })
            }
            Some(Token::Name(name)) if name == "without" && self.peek() == Some(&Token::Open) => {
                self.pos -= 1;
                Ok(Expr::Hits(self.hits()?))
            }
            Some(Token::Name(name)) => {
                if let Some(kind) = QuantityKind::from_name(&name) {
                    return Ok(self.comparison(kind, Aggregate::Any)?.unwrap_or(Expr::Has(kind)));
                }
                let field = if self.peek() == Some(&Token::At) {
                    self.pos += 1;
                    match self.next() {
                        Some(Token::Name(f)) => Some(FieldFilter::parse(&f).ok_or_else(|| {
                            self.pos -= 1;
                            self.error(format!("unknown field `{f}` (title, description, category, attributes)"))
                        })?),
                        _ => {
                            self.pos -= 1;
                            return Err(self.error("a field name must follow `@`".into()));
                        }
                    }
                } else {
                    None
                };
                Ok(Expr::Signal { name, field })
            }
            Some(other) => {
                self.pos -= 1;
                Err(self.error(format!("expected a name, `!` or `(`, found {other}")))
            }
            None => Err(self.error("the expression ends too early".into())),
        }
    }

    /// One source or several joined by `|`.
    fn hits(&mut self) -> Result<Hits, ExprError> {
        let mut items = self.separated(&Token::Or, Self::hit_source)?;
        Ok(if items.len() == 1 { items.remove(0) } else { Hits::Any(items) })
    }

    /// `NAME` or `without(hits, NAME, N)`.
    fn hit_source(&mut self) -> Result<Hits, ExprError> {
        let name = self.set_name()?;
        if name != "without" || self.peek() != Some(&Token::Open) {
            return Ok(Hits::Set(name));
        }
        self.pos += 1;
        let source = self.hits()?;
        self.expect(Token::Comma, "`,` after the hits of `without(`")?;
        let exception = self.set_name()?;
        let words = self.distance_and_close("without(a, exception, N)", "`)` to close `without(`")?;
        Ok(Hits::Without { source: Box::new(source), exception, words })
    }

    /// The last argument of `near(…)` and `without(…)`: `, N)`.
    fn distance_and_close(&mut self, form: &str, closing: &str) -> Result<u32, ExprError> {
        self.expect(Token::Comma, "`,` before the distance in words")?;
        let words = self.words(form)?;
        self.expect(Token::Close, closing)?;
        Ok(words)
    }

    fn words(&mut self, form: &str) -> Result<u32, ExprError> {
        match self.next() {
            Some(Token::Number(n)) if n >= 0.0 && n.fract() == 0.0 => Ok(n as u32),
            _ => {
                self.pos -= 1;
                Err(self.error(format!("`{form}` needs a whole number of words")))
            }
        }
    }

    fn set_name(&mut self) -> Result<String, ExprError> {
        match self.next() {
            Some(Token::Name(n)) if QuantityKind::from_name(&n).is_none() => Ok(n),
            _ => {
                self.pos -= 1;
                Err(self.error("expected a term-set name".into()))
            }
        }
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), ExprError> {
        if self.next() == Some(token) {
            Ok(())
        } else {
            self.pos -= 1;
            Err(self.error(format!("expected {what}")))
        }
    }

    fn quantity_name(&mut self) -> Result<QuantityKind, ExprError> {
        match self.next() {
            Some(Token::Name(n)) => QuantityKind::from_name(&n).ok_or_else(|| {
                self.pos -= 1;
                self.error(format!("`{n}` is not a quantity"))
            }),
            _ => {
                self.pos -= 1;
                Err(self.error("expected a quantity name".into()))
            }
        }
    }

    /// Parses `OP NUMBER UNIT?` if an operator follows.
    fn comparison(&mut self, kind: QuantityKind, aggregate: Aggregate) -> Result<Option<Expr>, ExprError> {
        let Some(Token::Op(op)) = self.peek().cloned() else {
            return Ok(None);
        };
        self.pos += 1;
        let number = match self.next() {
            Some(Token::Number(n)) => n,
            _ => {
                self.pos -= 1;
                return Err(self.error("expected a number after the comparison".into()));
            }
        };
        let mut value = number;
        if let Some(Token::Name(unit)) = self.peek().cloned() {
            if !QuantityKind::ALL.iter().any(|k| k.name() == unit) && unit != "max" && unit != "min" {
                value = convert(kind, number, &unit)
                    .ok_or_else(|| self.error(format!("unit `{unit}` does not measure {}", kind.name())))?;
                self.pos += 1;
            }
        }
        Ok(Some(Expr::Compare { kind, aggregate, op, value }))
    }
}

/// Converts `value unit` to `kind`'s canonical unit. Policy expressions
/// use SI and trade symbols only (the policy language's own notation);
/// the words sellers write for units are pack data (`[[unit]]`).
fn convert(kind: QuantityKind, value: f64, unit: &str) -> Option<f64> {
    use QuantityKind::*;
    let (measures, factor) = match unit.to_ascii_lowercase().as_str() {
        "mm" => (Length, 0.1),
        "cm" => (Length, 1.0),
        "m" => (Length, 100.0),
        "in" | "inch" | "inches" => (Length, 2.54),
        "ft" | "feet" => (Length, 30.48),
        "mw" => (Power, 1.0),
        "w" => (Power, 1000.0),
        "kw" => (Power, 1e6),
        "v" => (Voltage, 1.0),
        "kv" => (Voltage, 1000.0),
        "ml" => (Volume, 1.0),
        "cl" => (Volume, 10.0),
        "dl" => (Volume, 100.0),
        "l" => (Volume, 1000.0),
        "j" => (Energy, 1.0),
        "mg" => (Mass, 0.001),
        "g" => (Mass, 1.0),
        "kg" => (Mass, 1000.0),
        "lb" | "lbs" if kind == DrawWeight => (DrawWeight, 1.0),
        "lb" | "lbs" => (Mass, 453.592),
        "%" => (Concentration, 1.0),
        "years" | "year" => (Age, 1.0),
        "months" | "month" => (Age, 1.0 / 12.0),
        _ => return None,
    };
    let wanted = if kind == Height { Length } else { kind };
    (measures == wanted).then_some(value * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_comparisons() {
        let e = parse("sex_doll & (child | max(height) < 1.4 m) & !reborn@title").expect("parses");
        let Expr::And(items) = e else { panic!("and expected") };
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[1],
            Expr::Or(vec![
                Expr::Signal { name: "child".into(), field: None },
                Expr::Compare {
                    kind: QuantityKind::Height,
                    aggregate: Aggregate::Max,
                    op: CompareOp::Lt,
                    value: 140.0
                },
            ])
        );
        assert_eq!(
            items[2],
            Expr::Not(Box::new(Expr::Signal { name: "reborn".into(), field: Some(FieldFilter::Title) }))
        );
    }

    #[test]
    fn units_convert_and_bare_quantities_test_presence() {
        assert_eq!(
            parse("power > 1 mW").expect("parses"),
            Expr::Compare { kind: QuantityKind::Power, aggregate: Aggregate::Any, op: CompareOp::Gt, value: 1.0 }
        );
        assert_eq!(
            parse("volume > 0.1 l").expect("parses"),
            Expr::Compare { kind: QuantityKind::Volume, aggregate: Aggregate::Any, op: CompareOp::Gt, value: 100.0 }
        );
        assert_eq!(parse("!height").expect("parses"), Expr::Not(Box::new(Expr::Has(QuantityKind::Height))));
    }

    #[test]
    fn near_takes_two_sets_and_a_distance() {
        assert_eq!(
            parse("near(adult, child, 6) & x").expect("parses"),
            Expr::And(vec![
                Expr::Near { a: Hits::Set("adult".into()), b: Hits::Set("child".into()), words: 6 },
                Expr::Signal { name: "x".into(), field: None },
            ])
        );
        assert!(parse("near(adult, child)").is_err());
        assert!(parse("near(adult, height, 3)").is_err());
    }

    #[test]
    fn without_nests_and_feeds_near() {
        let e = parse("near(fake, without(passport, holder, 1), 3) | without(rx, not_rx, 2)").expect("parses");
        let Expr::Or(items) = e else { panic!("or expected") };
        let passport =
            Hits::Without { source: Box::new(Hits::Set("passport".into())), exception: "holder".into(), words: 1 };
        assert_eq!(items[0], Expr::Near { a: Hits::Set("fake".into()), b: passport, words: 3 });
        assert_eq!(
            items[1],
            Expr::Hits(Hits::Without {
                source: Box::new(Hits::Set("rx".into())),
                exception: "not_rx".into(),
                words: 2
            })
        );
        assert_eq!(items[1].signal_names(), vec!["rx", "not_rx"]);
        let any = parse("without(rx | brand, not_rx, 2)").expect("parses");
        let sources = Hits::Any(vec![Hits::Set("rx".into()), Hits::Set("brand".into())]);
        assert_eq!(any, Expr::Hits(Hits::Without { source: Box::new(sources), exception: "not_rx".into(), words: 2 }));
        assert!(parse("without(rx, not_rx)").is_err());
        assert!(parse("without(rx, height, 2)").is_err());
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(parse("a & (b | c").unwrap_err().message, "missing `)`");
        assert!(parse("power > 5 cm").unwrap_err().message.contains("does not measure power"));
        assert!(parse("a b").unwrap_err().message.contains("after a complete expression"));
        assert!(parse("x@price").is_err());
    }

    #[test]
    fn contradictions_are_seen() {
        assert!(parse("a & !a").expect("parses").is_contradiction());
        assert!(!parse("a & !b").expect("parses").is_contradiction());
    }
}
