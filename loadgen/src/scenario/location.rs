//! Turns the byte span of a TOML error into what a user looks for: the line,
//! and the dotted path of the key whose value is at fault.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The 1-based line of byte `offset` in `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The innermost key whose name or value contains `span`, as a path such as
/// `workload.keys.count` or `phases[1].duration`.
pub(super) fn key_at(doc: &DeTable<'_>, span: Range<usize>) -> Option<String> {
    let mut path = Vec::new();
    in_table(doc, &span, &mut path).then(|| path.join(""))
}

/// ` at line 3, key workload.topic` in whichever parts are known.
pub(super) fn describe(line: Option<usize>, key: Option<&str>) -> String {
    match (line, key) {
        (Some(line), Some(key)) => format!(": line {line}: {key}"),
        (Some(line), None) => format!(": line {line}"),
        (None, Some(key)) => format!(": {key}"),
        (None, None) => String::new(),
    }
}

/// A key as it can be written in a path: bare when TOML allows it, quoted otherwise.
pub(super) fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.start < outer.end
}

fn in_table(table: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
    for (key, value) in table.iter() {
        let segment = if path.is_empty() {
            quote_key(key.get_ref())
        } else {
            format!(".{}", quote_key(key.get_ref()))
        };
        path.push(segment);
        if contains(&key.span(), span) || in_value(value, span, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn in_value(value: &Spanned<DeValue<'_>>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
    // Children first: a header table's own span may not cover its body.
    let inner = match value.get_ref() {
        DeValue::Table(table) => in_table(table, span, path),
        DeValue::Array(items) => items.iter().enumerate().any(|(i, item)| {
            path.push(format!("[{i}]"));
            let found = in_value(item, span, path);
            if !found {
                path.pop();
            }
            found
        }),
        _ => false,
    };
    inner || contains(&value.span(), span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str, needle: &str) -> Option<String> {
        let start = text.find(needle).unwrap();
        let doc = DeTable::parse(text).unwrap();
        key_at(doc.get_ref(), start..start + needle.len())
    }

    #[test]
    fn finds_nested_keys_and_array_elements() {
        let text = "name = \"x\"\n[workload]\ntopic = \"t\"\nkeys = { kind = \"odd\", count = 5 }\n\n[[phases]]\nname = \"a\"\n[[phases]]\nname = \"b\"\nrate = -1\n";
        assert_eq!(key(text, "\"t\"").as_deref(), Some("workload.topic"));
        assert_eq!(key(text, "\"odd\"").as_deref(), Some("workload.keys.kind"));
        assert_eq!(key(text, "-1").as_deref(), Some("phases[1].rate"));
        assert_eq!(key(text, "name = \"x\"").as_deref(), None);
    }

    #[test]
    fn lines_are_one_based() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a", 99), 1);
    }
}
