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

#[cfg(test)]
mod tests {
    use super::*;

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
