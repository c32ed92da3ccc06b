//! Pulling the reward program out of a reply.

/// The program in a reply: the longest fenced block tagged `rhai`, else the longest fenced
/// block of any other tag. Fences are three or more backticks or tildes; a block left open at
/// the end of a truncated reply runs to the end. Reasoning in `<think>...</think>` is ignored.
/// `None` when the reply has no non-empty block.
pub fn extract_code(reply: &str) -> Option<String> {
    let text = strip_thinking(reply);
    let blocks = fenced_blocks(&text);
    let longest = |tagged: bool| {
        blocks
            .iter()
            .filter(|(tag, _)| !tagged || tag.eq_ignore_ascii_case("rhai"))
            .map(|(_, body)| body.trim())
            .filter(|body| !body.is_empty())
            .max_by_key(|body| body.len())
            .map(str::to_string)
    };
    longest(true).or_else(|| longest(false))
}

fn strip_thinking(reply: &str) -> String {
    let mut out = String::new();
    let mut rest = reply;
    while let Some(start) = rest.find("<think>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</think>") {
            Some(end) => rest = &rest[start + end + "</think>".len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// (tag, body) of each fenced block.
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String, String)> = None; // fence, tag, body
    for line in text.lines() {
        let trimmed = line.trim_start();
        let fence: String = trimmed
            .chars()
            .take_while(|c| *c == '`' || *c == '~')
            .collect();
        let is_fence =
            fence.len() >= 3 && fence.chars().all(|c| c == fence.chars().next().unwrap());
        match &mut open {
            None if is_fence => {
                let tag = trimmed[fence.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                open = Some((fence, tag, String::new()));
            }
            None => {}
            Some((opening, _, _))
                if is_fence
                    && fence.starts_with(opening.as_str())
                    && trimmed[fence.len()..].trim().is_empty() =>
            {
                let (_, tag, body) = open.take().expect("a block is open");
                blocks.push((tag, body));
            }
            Some((_, _, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    if let Some((_, tag, body)) = open {
        blocks.push((tag, body));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_rhai_block_over_others() {
        let reply = "Here is the idea:\n```text\nnot code at all, but longer than the program\n```\n\
                     And the program:\n```rhai\nlet d = 1.0;\n[d, #{d: d}]\n```\nDone.";
        assert_eq!(extract_code(reply).unwrap(), "let d = 1.0;\n[d, #{d: d}]");
    }

    #[test]
    fn accepts_untagged_and_tilde_fences_and_indentation() {
        assert_eq!(extract_code("```\nlet a = 1;\n```").unwrap(), "let a = 1;");
        assert_eq!(
            extract_code("~~~rhai\nlet a = 2;\n~~~").unwrap(),
            "let a = 2;"
        );
        assert_eq!(
            extract_code("  ```rhai\n  let a = 3;\n  ```").unwrap(),
            "let a = 3;"
        );
    }

    #[test]
    fn a_truncated_reply_keeps_its_open_block() {
        assert_eq!(
            extract_code("```rhai\nlet a = 4;\nlet b").unwrap(),
            "let a = 4;\nlet b"
        );
    }

    #[test]
    fn longer_fences_may_contain_shorter_ones() {
        let reply = "````rhai\nlet s = \"```\";\n[1.0, #{}]\n````";
        assert_eq!(extract_code(reply).unwrap(), "let s = \"```\";\n[1.0, #{}]");
    }

    #[test]
    fn thinking_is_ignored() {
        let reply =
            "<think>maybe ```rhai\nlet wrong = 1;\n``` no</think>```rhai\nlet right = 1;\n```";
        assert_eq!(extract_code(reply).unwrap(), "let right = 1;");
    }

    #[test]
    fn no_code_is_none() {
        assert_eq!(extract_code("I cannot help with that."), None);
        assert_eq!(extract_code("```rhai\n\n```"), None);
        assert_eq!(extract_code(""), None);
    }
}
