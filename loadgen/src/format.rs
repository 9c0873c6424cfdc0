//! Numbers and durations as loadgen shows them to people: in the console
//! summary, the progress lines, the HTML report and the threshold messages.
//!
//! Pure functions of their arguments, so that every report writes a value the
//! same way.

/// A limit or measurement as shown to users: integers without decimals,
/// others rounded to 3 decimals, or 6 below 1 (`250`, `5.911`, `0.000125`).
pub fn number(value: f64) -> String {
    let scale = if value.abs() < 1.0 { 1e6 } else { 1e3 };
    let rounded = (value * scale).round() / scale;
    format!("{rounded}")
}

/// Microseconds as milliseconds with three decimals: `1234` → `1.234`.
pub fn millis(micros: u64) -> String {
    format!("{}.{:03}", micros / 1000, micros % 1000)
}

/// The console's line width: long lines are wrapped to it.
pub const LINE_WIDTH: usize = 100;

/// `text` broken at spaces into lines of at most `width` characters (a word
/// longer than that gets a line of its own), each after the first indented
/// by `indent` spaces; a break after a comma or colon is preferred, spacing
/// within a line is kept, and every line ends in a newline.
pub fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut rest = text.trim_end();
    let mut first = true;
    loop {
        let prefix = if first { 0 } else { indent };
        let room = width.saturating_sub(prefix);
        let chars: Vec<(usize, char)> = rest.char_indices().collect();
        if !first {
            out.push_str(&" ".repeat(indent));
        }
        if chars.len() <= room {
            out.push_str(rest);
            out.push('\n');
            return out;
        }
        // The last space that leaves a line of at most `room`, after some text, preferably one
        // after a comma or colon in the second half of the line; else the first space.
        let start = chars.iter().position(|&(_, c)| c != ' ').unwrap_or(0);
        let spaces: Vec<usize> = (start..=room)
            .filter(|&i| chars[i].1 == ' ' && i > 0 && chars[i - 1].1 != ' ')
            .collect();
        let after_punctuation = spaces
            .iter()
            .rev()
            .find(|&&i| i > room / 2 && matches!(chars[i - 1].1, ',' | ':'));
        let fits = after_punctuation.or(spaces.last()).map(|&i| chars[i].0);
        let at = fits.or_else(|| {
            chars
                .iter()
                .skip(start)
                .find(|&&(_, c)| c == ' ')
                .map(|&(i, _)| i)
        });
        match at {
            Some(at) => {
                out.push_str(rest[..at].trim_end());
                out.push('\n');
                rest = rest[at..].trim_start();
                first = false;
            }
            None => {
                out.push_str(rest);
                out.push('\n');
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_spaces_and_indents_the_rest() {
        assert_eq!(wrap("a bb ccc dddd", 6, 2), "a bb\n  ccc\n  dddd\n");
        assert_eq!(
            wrap("one two three, four five six", 20, 2),
            "one two three,\n  four five six\n",
            "after the comma rather than after four"
        );
        assert_eq!(wrap("short", 100, 2), "short\n");
        assert_eq!(wrap("toolongword x", 4, 1), "toolongword\n x\n");
        assert_eq!(
            wrap("  name     <= 1  actual 2", 12, 4),
            "  name\n    <= 1\n    actual 2\n"
        );
        assert_eq!(wrap("  a    b", 100, 4), "  a    b\n", "spacing kept");
        let long = "audit: 10000 recorded by the embedded broker on topic bench, 10000 acknowledged in all phases: \
                    lost 0, duplicates 0, reordered 0, unacknowledged recorded 0: ok";
        let wrapped = wrap(long, LINE_WIDTH, 2);
        assert!(wrapped.lines().all(|l| l.chars().count() <= LINE_WIDTH));
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            long.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn numbers_drop_needless_decimals() {
        assert_eq!(number(250.0), "250");
        assert_eq!(number(5.911), "5.911");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(4996.082367), "4996.082");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn milliseconds_keep_microsecond_precision() {
        assert_eq!(millis(0), "0.000");
        assert_eq!(millis(7), "0.007");
        assert_eq!(millis(1234), "1.234");
        assert_eq!(millis(60_000_001), "60000.001");
    }
}
