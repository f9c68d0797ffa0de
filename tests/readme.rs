//! The README's configuration table lists every directive with its real default, so the
//! documentation cannot drift from src/config.rs.

use berth::config::DIRECTIVES;

#[test]
fn readme_lists_every_directive_with_its_default() {
    let readme = include_str!("../README.md");
    for d in DIRECTIVES {
        let row = format!("| `{}` | `{}` |", d.name, d.default);
        assert!(
            readme.contains(&row),
            "README.md configuration table needs the row starting {row:?}"
        );
    }
    let rows = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter(|l| l.contains("` | `"))
        .count();
    assert_eq!(
        rows,
        DIRECTIVES.len(),
        "README lists directives that do not exist"
    );
}
