//! The colours of Ansible's `[colors]` section (`ok`, `changed`, `error` ...), as
//! SGR parameters, read from colour names as Ansible's `parsecolor` reads them.

/// The colours the default callback paints with.
#[derive(Clone, Debug, PartialEq)]
pub struct Palette {
    /// `ok` results and counters (`[colors] ok`).
    pub ok: String,
    /// `changed` results.
    pub changed: String,
    /// Failures.
    pub error: String,
    /// Skipped results.
    pub skip: String,
    /// Warnings and the `ignored` counter.
    pub warn: String,
    /// Unreachable hosts.
    pub unreachable: String,
    /// `included:` lines.
    pub included: String,
    /// Debugging lines such as `task path:`.
    pub debug: String,
    /// Verbose lines such as `N plays in FILE`.
    pub verbose: String,
}

impl Default for Palette {
    fn default() -> Palette {
        Palette::named(&|_| None)
    }
}

impl Palette {
    /// The palette with the colour `name_of(key)` gives for a `[colors]` key (`ok`,
    /// `changed` ...), Ansible's default where it gives none or a name Ansible does
    /// not know.
    pub fn named(name_of: &dyn Fn(&str) -> Option<String>) -> Palette {
        let pick = |key: &str, default: &str| {
            name_of(key)
                .and_then(|name| sgr(&name))
                .or_else(|| sgr(default))
                .unwrap_or_else(|| "0".into())
        };
        Palette {
            ok: pick("ok", "green"),
            changed: pick("changed", "yellow"),
            error: pick("error", "red"),
            skip: pick("skip", "cyan"),
            warn: pick("warn", "bright purple"),
            unreachable: pick("unreachable", "bright red"),
            included: pick("included", "cyan"),
            debug: pick("debug", "dark gray"),
            verbose: pick("verbose", "blue"),
        }
    }
}

/// Ansible's `COLOR_CODES`.
const CODES: &[(&str, &str)] = &[
    ("black", "0;30"),
    ("bright gray", "0;37"),
    ("blue", "0;34"),
    ("white", "1;37"),
    ("green", "0;32"),
    ("bright blue", "1;34"),
    ("cyan", "0;36"),
    ("bright green", "1;32"),
    ("red", "0;31"),
    ("bright cyan", "1;36"),
    ("purple", "0;35"),
    ("bright red", "1;31"),
    ("yellow", "0;33"),
    ("bright purple", "1;35"),
    ("dark gray", "1;30"),
    ("bright yellow", "1;33"),
    ("magenta", "0;35"),
    ("bright magenta", "1;35"),
    ("normal", "0"),
];

/// `parsecolor`: a name, `colorN`, `rgbRGB` (each 0-5) or `grayN` as SGR parameters.
pub fn sgr(name: &str) -> Option<String> {
    let digits = |rest: &str| -> Option<u32> {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    };
    if let Some(n) = name.strip_prefix("color").and_then(digits) {
        return Some(format!("38;5;{n}"));
    }
    if let Some(rgb) = name.strip_prefix("rgb") {
        let levels: Vec<u32> = rgb.chars().take(3).filter_map(|c| c.to_digit(6)).collect();
        if let [r, g, b] = levels[..] {
            return Some(format!("38;5;{}", 16 + 36 * r + 6 * g + b));
        }
    }
    if let Some(n) = name.strip_prefix("gray").and_then(digits) {
        return Some(format!("38;5;{}", 232 + n));
    }
    CODES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, code)| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_names_as_ansible_parses_them() {
        assert_eq!(sgr("bright purple").as_deref(), Some("1;35"));
        assert_eq!(sgr("color202").as_deref(), Some("38;5;202"));
        assert_eq!(sgr("rgb510").as_deref(), Some("38;5;202"));
        assert_eq!(sgr("gray7").as_deref(), Some("38;5;239"));
        assert_eq!(sgr("no such colour"), None);
        let palette = Palette::named(&|key| (key == "ok").then(|| "blue".to_string()));
        assert_eq!(palette.ok, "0;34");
        assert_eq!(palette.changed, "0;33");
    }
}
