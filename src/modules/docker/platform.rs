//! Platform strings (`os[/arch[/variant]]`) normalized and compared as
//! community.docker's `_platform` does (containerd's rules): `x86_64` is `amd64`,
//! `aarch64` is `arm64`, a lone OS or architecture takes the daemon's other half.

/// The operating systems containerd knows.
const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
    "zos",
];

/// The architectures containerd knows.
const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// A platform: each part absent when the string did not give it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Platform {
    os: Option<String>,
    arch: Option<String>,
    variant: Option<String>,
}

/// The daemon's own OS and architecture (`docker info`'s `OSType`, `Architecture`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Daemon<'a> {
    /// `OSType`.
    pub os: Option<&'a str>,
    /// `Architecture`.
    pub arch: Option<&'a str>,
}

fn normalize_os(os: &str) -> String {
    match os.to_lowercase().as_str() {
        "macos" => "darwin".to_string(),
        other => other.to_string(),
    }
}

/// containerd's `normalizeArch`: the architecture and variant (`None`: keep the one
/// given).
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_lowercase();
    let variant = variant.to_lowercase();
    let table = |a: &str, v: Option<&str>| -> Option<(&'static str, Option<&'static str>)> {
        Some(match (a, v) {
            ("i386", None) => ("386", Some("")),
            ("x86_64" | "x86-64" | "amd64", Some("v1")) => ("amd64", Some("")),
            ("x86_64" | "x86-64" | "amd64", None) => ("amd64", None),
            ("aarch64" | "arm64", Some("8" | "v8")) => ("arm64", Some("")),
            ("aarch64" | "arm64", None) => ("arm64", None),
            ("armhf", None) => ("arm", Some("v7")),
            ("armel", None) => ("arm", Some("v6")),
            ("arm", Some("")) => ("arm", Some("v7")),
            ("arm", Some("5")) => ("arm", Some("v5")),
            ("arm", Some("6")) => ("arm", Some("v6")),
            ("arm", Some("7")) => ("arm", Some("v7")),
            ("arm", Some("8")) => ("arm", Some("v8")),
            ("arm", None) => ("arm", None),
            _ => return None,
        })
    };
    match table(&arch, Some(&variant)).or_else(|| table(&arch, None)) {
        Some((a, v)) => (a.to_string(), v.map_or(variant, str::to_string)),
        None => (arch, variant),
    }
}

/// Checks one part of a platform string: not empty, only `[A-Za-z0-9_-]`.
fn part<'a>(string: &str, part: &'a str, name: &str) -> Result<&'a str, String> {
    if part.is_empty() {
        return Err(format!(
            "Invalid platform string \"{string}\": {name} is empty"
        ));
    }
    if !part
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(format!(
            "Invalid platform string \"{string}\": {name} has invalid characters"
        ));
    }
    Ok(part)
}

fn nonempty(text: String) -> Option<String> {
    Some(text).filter(|t| !t.is_empty())
}

impl Platform {
    /// Reads a platform string, taking the daemon's OS or architecture for the part a
    /// lone word does not give.
    pub fn parse(string: &str, daemon: Daemon<'_>) -> Result<Platform, String> {
        if string.is_empty() {
            return Err("Platform string must be non-empty".to_string());
        }
        let parts: Vec<&str> = string.splitn(3, '/').collect();
        if let [word] = parts[..] {
            part(string, word, "OS/architecture")?;
            let os = normalize_os(word);
            if KNOWN_OS.contains(&os.as_str()) {
                let (arch, variant) = match daemon.arch {
                    Some(arch) => {
                        let (a, v) = normalize_arch(arch, "");
                        (Some(a), nonempty(v))
                    }
                    None => (None, None),
                };
                return Ok(Platform {
                    os: Some(os),
                    arch,
                    variant,
                });
            }
            let (arch, variant) = normalize_arch(&os, "");
            if KNOWN_ARCH.contains(&arch.as_str()) {
                return Ok(Platform {
                    os: daemon.os.map(normalize_os),
                    arch: nonempty(arch),
                    variant: nonempty(variant),
                });
            }
            return Err(format!(
                "Invalid platform string \"{string}\": unknown OS or architecture"
            ));
        }
        let os = part(string, parts[0], "OS")?;
        let arch = part(string, parts[1], "architecture")?;
        let variant = match parts.get(2) {
            Some(v) => part(string, v, "variant")?,
            None => "",
        };
        let (arch, mut variant) = normalize_arch(arch, variant);
        if parts.len() == 2 && arch == "arm" && variant == "v7" {
            variant = String::new();
        }
        if parts.len() == 3 && arch == "arm64" && variant.is_empty() {
            variant = "v8".to_string();
        }
        Ok(Platform {
            os: Some(normalize_os(os)),
            arch: Some(arch),
            variant: nonempty(variant),
        })
    }

    /// An image's platform (its inspected `Os`, `Architecture`, `Variant`), the
    /// daemon's filling what the image does not say (`compose_platform_string`).
    pub fn of_image(
        os: Option<&str>,
        arch: Option<&str>,
        variant: Option<&str>,
        daemon: Daemon<'_>,
    ) -> Platform {
        let os = os.map(str::to_string).or(daemon.os.map(normalize_os));
        let (arch, variant) = match (arch, daemon.arch) {
            (Some(arch), _) => (Some(arch.to_string()), variant.map(str::to_string)),
            (None, Some(daemon_arch)) => {
                let (a, v) = normalize_arch(daemon_arch, variant.unwrap_or(""));
                (Some(a), nonempty(v))
            }
            (None, None) => (None, variant.map(str::to_string)),
        };
        Platform {
            os,
            arch,
            variant: variant.filter(|v| !v.is_empty()),
        }
    }

    /// The platform as a string (`linux/amd64`), as `str(_Platform)` writes it.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = match (&self.os, &self.arch, &self.variant) {
            (Some(os), Some(arch), Some(variant)) => vec![os, arch, variant],
            (Some(os), Some(arch), None) => vec![os, arch],
            (Some(os), None, _) => vec![os],
            (None, Some(arch), _) => vec![arch],
            (None, None, _) => vec![],
        };
        parts.join("/")
    }

    /// Whether two platform strings name the same platform
    /// (`compare_platform_strings`: both read without the daemon's help).
    pub fn same(a: &str, b: &str) -> Result<bool, String> {
        Ok(Platform::parse(a, Daemon::default())? == Platform::parse(b, Daemon::default())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Daemon<'static> = Daemon {
        os: Some("linux"),
        arch: Some("x86_64"),
    };

    #[test]
    fn strings_normalize_as_containerd_does() {
        let text = |s: &str| Platform::parse(s, HOST).map(|p| p.text());
        assert_eq!(text("linux").as_deref(), Ok("linux/amd64"));
        assert_eq!(text("amd64").as_deref(), Ok("linux/amd64"));
        assert_eq!(text("linux/x86_64").as_deref(), Ok("linux/amd64"));
        assert_eq!(text("linux/aarch64").as_deref(), Ok("linux/arm64"));
        assert_eq!(text("linux/arm64/8").as_deref(), Ok("linux/arm64/v8"));
        assert_eq!(text("linux/arm64/v8").as_deref(), Ok("linux/arm64/v8"));
        assert_eq!(text("linux/arm").as_deref(), Ok("linux/arm"));
        assert_eq!(text("linux/armhf").as_deref(), Ok("linux/arm"));
        assert_eq!(text("linux/arm/6").as_deref(), Ok("linux/arm/v6"));
        assert_eq!(
            text("plan10"),
            Err("Invalid platform string \"plan10\": unknown OS or architecture".to_string())
        );
        assert_eq!(
            text("linux/"),
            Err("Invalid platform string \"linux/\": architecture is empty".to_string())
        );
        assert_eq!(
            text("linux/am d64"),
            Err(
                "Invalid platform string \"linux/am d64\": architecture has invalid characters"
                    .to_string()
            )
        );
    }

    #[test]
    fn images_and_wanted_platforms_compare() {
        let image = Platform::of_image(Some("linux"), Some("amd64"), None, HOST).text();
        assert_eq!(image, "linux/amd64");
        let wanted = Platform::parse("amd64", HOST).expect("valid").text();
        assert_eq!(Platform::same(&wanted, &image), Ok(true));
        let arm = Platform::parse("linux/arm64", HOST).expect("valid").text();
        assert_eq!(Platform::same(&arm, &image), Ok(false));
        let bare = Platform::of_image(None, None, None, HOST).text();
        assert_eq!(bare, "linux/amd64", "the daemon's platform");
    }
}
