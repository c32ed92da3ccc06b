//! docs/reward-language.md states the sandbox's limits as the code has them.

use reward_dsl::Limits;

#[test]
fn the_limits_table_in_the_docs_matches_the_defaults_and_ceilings() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reward-language.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let ceilings = Limits::CEILINGS.entries();
    for (i, (name, default)) in Limits::default().entries().into_iter().enumerate() {
        let row = format!("| `{name}` | {default} | {} |", ceilings[i].1);
        assert!(
            doc.contains(&row),
            "docs/reward-language.md lacks the row {row}"
        );
    }
}
