//! Expressions as token sequences: splitting at top-level separators, finding the variables
//! an expression reads, renaming them, and writing tokens back to source.

use reward_dsl::syntax::{KEYWORDS, STATE, Token, TokenKind, tokenize};
use std::collections::{BTreeMap, BTreeSet};

/// Tokens of an expression stored in a genome. Every stored expression was itself produced
/// by [`join`] from tokens, so it always tokenizes; an empty list stands for a failure.
pub(super) fn lex(expr: &str) -> Vec<Token> {
    tokenize(expr).unwrap_or_default()
}

/// Tokens back to source: one space wherever the original had whitespace or a comment.
pub(super) fn join(tokens: &[Token]) -> String {
    let mut out = String::new();
    for (k, token) in tokens.iter().enumerate() {
        if k > 0 && token.spaced {
            out.push(' ');
        }
        out.push_str(&token.text);
    }
    out
}

/// A short quote of some tokens, for error messages.
pub(super) fn snippet(tokens: &[Token]) -> String {
    let text = join(tokens);
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// The bracket that closes `open`, when `open` opens one.
fn closing(open: &str) -> Option<&'static str> {
    match open {
        "(" => Some(")"),
        "[" => Some("]"),
        "{" | "#{" => Some("}"),
        _ => None,
    }
}

/// Splits tokens at `sep` outside every bracket, checking that brackets balance.
pub(super) fn split_top<'a>(tokens: &'a [Token], sep: &str) -> Result<Vec<&'a [Token]>, String> {
    let mut open: Vec<(&str, usize)> = Vec::new();
    let (mut parts, mut start) = (Vec::new(), 0);
    for (k, token) in tokens.iter().enumerate() {
        if token.kind != TokenKind::Punct {
            continue;
        }
        if let Some(close) = closing(&token.text) {
            open.push((close, token.line));
        } else if matches!(token.text.as_str(), ")" | "]" | "}") {
            if open.pop().map(|(close, _)| close) != Some(token.text.as_str()) {
                return Err(format!("line {}: unbalanced `{}`", token.line, token.text));
            }
        } else if token.text == sep && open.is_empty() {
            parts.push(&tokens[start..k]);
            start = k + 1;
        }
    }
    if let Some((close, line)) = open.pop() {
        return Err(format!(
            "line {line}: a bracket is never closed (missing `{close}`)"
        ));
    }
    parts.push(&tokens[start..]);
    Ok(parts)
}

/// The tokens between `open` and its matching close, when those enclose all of `tokens`.
pub(super) fn enclosed<'a>(tokens: &'a [Token], open: &str) -> Option<&'a [Token]> {
    let (first, last) = (tokens.first()?, tokens.last()?);
    if !first.is(open) || tokens.len() < 2 || !last.is(closing(open)?) {
        return None;
    }
    let mut depth = 0usize;
    for token in &tokens[..tokens.len() - 1] {
        if token.kind == TokenKind::Punct && closing(&token.text).is_some() {
            depth += 1;
        } else if token.kind == TokenKind::Punct && matches!(token.text.as_str(), ")" | "]" | "}") {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return None;
            }
        }
    }
    Some(&tokens[1..tokens.len() - 1])
}

/// Positions of identifiers that name variables: not a `.field` or `.method`, not a
/// function call, not a map key, not a keyword and not `state`.
fn variable_positions(tokens: &[Token]) -> Vec<usize> {
    let mut in_map: Vec<bool> = Vec::new();
    let mut positions = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        match token.kind {
            TokenKind::Punct if token.text == "#{" => in_map.push(true),
            TokenKind::Punct if closing(&token.text).is_some() => in_map.push(false),
            TokenKind::Punct if matches!(token.text.as_str(), ")" | "]" | "}") => {
                in_map.pop();
            }
            TokenKind::Ident => {
                let next = tokens.get(k + 1);
                let after_dot = k > 0 && tokens[k - 1].is(".");
                let call = next.is_some_and(|n| n.is("("));
                let key = in_map.last() == Some(&true) && next.is_some_and(|n| n.is(":"));
                let word = KEYWORDS.contains(&token.text.as_str()) || token.text == STATE;
                if !after_dot && !call && !key && !word {
                    positions.push(k);
                }
            }
            _ => {}
        }
    }
    positions
}

/// The variables an expression reads (a superset: locals of closures and blocks count too).
pub(super) fn variables(expr: &str) -> BTreeSet<String> {
    let tokens = lex(expr);
    variable_positions(&tokens)
        .into_iter()
        .map(|k| tokens[k].text.clone())
        .collect()
}

/// Renames variables in an expression; fields, calls and map keys keep their names.
pub(super) fn rename(expr: &str, renames: &BTreeMap<String, String>) -> String {
    if renames.is_empty() {
        return expr.to_string();
    }
    let mut tokens = lex(expr);
    for k in variable_positions(&tokens) {
        if let Some(new) = renames.get(&tokens[k].text) {
            tokens[k].text.clone_from(new);
        }
    }
    join(&tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_tokens_keep_one_space_for_whitespace_and_comments() {
        assert_eq!(
            join(&tokenize("f(a,/*x*/b)  *\n-2.").unwrap()),
            "f(a, b) * -2."
        );
    }

    #[test]
    fn renaming_skips_fields_calls_keys_and_reserved_names() {
        let renames = BTreeMap::from([("d".to_string(), "d_2".to_string())]);
        let expr = "d(d) + m.d + #{d: d, e: [d]}.d + state.d + { let x = d; x }";
        assert_eq!(
            rename(expr, &renames),
            "d(d_2) + m.d + #{d: d_2, e: [d_2]}.d + state.d + { let x = d_2; x }"
        );
        assert_eq!(
            variables("dist(state.ee_pos, g) + v.x * clamp(k, 0.0, 1.0)"),
            BTreeSet::from(["g".to_string(), "k".to_string(), "v".to_string()])
        );
    }
}
