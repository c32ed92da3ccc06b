//! How numbers read in the terminal, the report and the workbench.

/// `1 seed`, `3 seeds`.
pub fn plural(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// A number to three decimals, or `-`.
pub fn format_opt(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.3}"))
}

/// `2h 05m`, `3m 07s`, `12s`.
pub fn format_duration(secs: f64) -> String {
    let secs = if secs.is_finite() && secs > 0.0 {
        secs.round() as u64
    } else {
        0
    };
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// `1234567` as `1,234,567`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_person_reads_them() {
        assert_eq!(plural(1, "seed"), "1 seed");
        assert_eq!(plural(3, "seed"), "3 seeds");
        assert_eq!(format_opt(None), "-");
        assert_eq!(format_opt(Some(0.12345)), "0.123");
        assert_eq!(format_duration(30.0), "30s");
        assert_eq!(format_duration(187.0), "3m 07s");
        assert_eq!(format_duration(7500.0), "2h 05m");
        assert_eq!(format_duration(f64::NAN), "0s");
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_234_567), "1,234,567");
    }
}
