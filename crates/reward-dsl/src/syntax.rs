//! Rhai's syntax as rewardgen reads it outside the parser: a lexer that keeps each token's
//! source text and line, the keywords, and the names a reward program finds defined (`state`,
//! its built-in fields, the helpers and the Rhai library functions rewards call).

use crate::helpers;
use rhai::Engine;
use std::sync::LazyLock;

/// The one variable a reward program starts with: the env's state.
pub const STATE: &str = "state";

/// Fields every state has besides the env's schema.
pub const BUILTIN_FIELDS: [&str; 4] = ["action", "prev_action", "dt", "step"];

/// Rhai library functions that reward programs call, besides the helpers.
const LIBRARY_FUNCTIONS: &[&str] = &[
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "floor", "ceiling", "round", "PI",
    "E", "ln", "log", "len", "map", "reduce", "filter", "sum",
];

/// Rhai keywords and reserved words: never variables, never component names.
pub const KEYWORDS: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "call",
    "case",
    "catch",
    "const",
    "continue",
    "curry",
    "debug",
    "default",
    "do",
    "else",
    "eval",
    "exit",
    "export",
    "false",
    "fn",
    "for",
    "Fn",
    "global",
    "goto",
    "if",
    "import",
    "in",
    "is",
    "is_def_fn",
    "is_def_var",
    "is_shared",
    "let",
    "loop",
    "match",
    "module",
    "new",
    "nil",
    "null",
    "package",
    "print",
    "private",
    "protected",
    "public",
    "return",
    "shared",
    "spawn",
    "static",
    "super",
    "switch",
    "sync",
    "this",
    "thread",
    "throw",
    "true",
    "try",
    "type_of",
    "until",
    "use",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// The names of the helper functions, as [`helpers::register`] registers them.
pub fn helper_names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> =
        LazyLock::new(|| helpers::register(&mut Engine::new_raw()));
    &NAMES
}

/// Whether a program finds `name` defined: `state`, a built-in field, a helper or a Rhai
/// library function.
pub fn is_predefined(name: &str) -> bool {
    name == STATE
        || BUILTIN_FIELDS.contains(&name)
        || helper_names().contains(&name)
        || LIBRARY_FUNCTIONS.contains(&name)
}

/// Whether `name` can name a variable: an ASCII identifier that is not a keyword.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Ident,
    Int,
    Float,
    Str,
    Punct,
}

/// A token with its source text and 1-based line.
#[derive(Debug, Clone)]
pub struct Token {
    pub kind: TokenKind,
    pub text: String,
    /// Whitespace or a comment came before it.
    pub spaced: bool,
    pub line: usize,
}

impl Token {
    /// Whether it is the punctuation `punct`.
    pub fn is(&self, punct: &str) -> bool {
        self.kind == TokenKind::Punct && self.text == punct
    }
}

/// Splits source into tokens, dropping comments (`//`, nested `/* */`) and whitespace.
pub fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line, mut spaced) = (0, 1, false);
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        let (start, start_line) = (i, line);
        if c.is_whitespace() {
            line += usize::from(c == '\n');
            i += 1;
            spaced = true;
            continue;
        }
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            spaced = true;
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('/'), Some('*')) => {
                        depth += 1;
                        i += 2;
                    }
                    (Some('*'), Some('/')) => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    (Some(ch), _) => {
                        line += usize::from(*ch == '\n');
                        i += 1;
                    }
                    (None, _) => {
                        return Err(format!("line {start_line}: unterminated block comment"));
                    }
                }
            }
            spaced = true;
            continue;
        }
        let kind = if matches!(c, '"' | '`' | '\'') {
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("line {start_line}: unterminated string literal")),
                    Some('\\') => {
                        line += usize::from(chars.get(i + 1) == Some(&'\n'));
                        i += 2;
                    }
                    Some(ch) if *ch == c => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        line += usize::from(*ch == '\n');
                        i += 1;
                    }
                }
            }
            TokenKind::Str
        } else if c.is_ascii_digit() {
            let (end, float) = scan_number(&chars, i);
            i = end;
            if float {
                TokenKind::Float
            } else {
                TokenKind::Int
            }
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            TokenKind::Ident
        } else {
            i += if c == '#' && next == Some('{') { 2 } else { 1 };
            TokenKind::Punct
        };
        tokens.push(Token {
            kind,
            text: chars[start..i].iter().collect(),
            spaced,
            line: start_line,
        });
        spaced = false;
    }
    Ok(tokens)
}

/// The end of the number starting at `i`, and whether Rhai reads it as a float: digits with
/// a decimal point or an exponent (`1.5`, `2.`, `1e-3`), as Rhai's own lexer decides.
fn scan_number(chars: &[char], mut i: usize) -> (usize, bool) {
    let digits = |i: &mut usize| {
        while chars
            .get(*i)
            .is_some_and(|c| c.is_ascii_digit() || *c == '_')
        {
            *i += 1;
        }
    };
    if chars[i] == '0' && matches!(chars.get(i + 1), Some('x' | 'X' | 'o' | 'O' | 'b' | 'B')) {
        i += 2;
        while chars
            .get(i)
            .is_some_and(|c| c.is_ascii_hexdigit() || *c == '_')
        {
            i += 1;
        }
        return (i, false);
    }
    digits(&mut i);
    let mut float = false;
    if chars.get(i) == Some(&'.') {
        match chars.get(i + 1) {
            Some(c) if c.is_ascii_digit() => {
                i += 1;
                digits(&mut i);
                float = true;
            }
            // `2.` before a symbol is a float; `1..n`, `1._` and `v.x` are not.
            Some(c) if !matches!(c, '.' | '_') && !c.is_alphabetic() => {
                i += 1;
                float = true;
            }
            _ => {}
        }
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let digit_at = i + 1 + usize::from(matches!(chars.get(i + 1), Some('+' | '-')));
        if chars.get(digit_at).is_some_and(char::is_ascii_digit) {
            i = digit_at;
            digits(&mut i);
            float = true;
        }
    }
    (i, float)
}

/// The value of a float literal's text.
pub fn float_literal_value(text: &str) -> Option<f64> {
    let mut clean: String = text.chars().filter(|c| *c != '_').collect();
    if clean.ends_with('.') {
        clean.push('0');
    }
    clean.parse().ok().filter(|v: &f64| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, RewardProgram};

    fn kinds(source: &str) -> Vec<(TokenKind, String)> {
        tokenize(source)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn numbers_are_read_as_rhai_reads_them() {
        let float = |s: &str| (TokenKind::Float, s.to_string());
        let int = |s: &str| (TokenKind::Int, s.to_string());
        assert_eq!(
            kinds("1.5e-3 2. 1_000.5 0x1F 7")[..4],
            [float("1.5e-3"), float("2."), float("1_000.5"), int("0x1F")]
        );
        // A range, a method on an integer and an index are not floats.
        assert_eq!(kinds("0..n")[0], int("0"));
        assert_eq!(kinds("1.max(2)")[0], int("1"));
        assert_eq!(kinds("v[2]")[2], int("2"));
        assert_eq!(kinds("3e5")[0], float("3e5"));
        assert_eq!(float_literal_value("2."), Some(2.0));
        assert_eq!(float_literal_value("1_000.5"), Some(1000.5));
    }

    #[test]
    fn comments_and_strings_are_single_tokens_or_nothing() {
        let tokens = kinds("a /* x /* nested */ y */ + // c\n \"s;//\" `t`");
        let texts: Vec<&str> = tokens.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["a", "+", "\"s;//\"", "`t`"]);
        let lines: Vec<usize> = tokenize("a /* \n */ b\nc")
            .unwrap()
            .iter()
            .map(|t| t.line)
            .collect();
        assert_eq!(lines, [1, 2, 3]);
    }

    /// Rhai nests block comments; the lexer and the compiler's field check agree on where
    /// one ends.
    #[test]
    fn the_lexer_and_the_compiler_agree_on_nested_comments() {
        let source = "/* a /* b */ state.nope */ let x = state.dt;\n[x, #{x: x}]";
        let texts: Vec<String> = tokenize(source)
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(texts[..4], ["let", "x", "=", "state"]);
        assert!(!texts.contains(&"nope".to_string()), "{texts:?}");
        RewardProgram::compile(source, "nested.rhai", &[], &Limits::default()).unwrap();
    }

    #[test]
    fn helper_names_are_the_registered_helpers() {
        let names = helper_names();
        for name in [
            "vec3",
            "norm",
            "dist",
            "quat_rotate",
            "tolerance",
            "clamp",
            "tanh",
        ] {
            assert!(names.contains(&name), "{name}");
        }
        assert!(names.iter().all(|name| is_identifier(name)), "{names:?}");
        for name in ["state", "prev_action", "sin", "len", "angle_between"] {
            assert!(is_predefined(name), "{name}");
        }
        assert!(!is_predefined("height"));
    }
}
