//! `find`'s second look at the target: checksums and contents of chosen files.

use base64::Engine;

use crate::connection::{Command, ConnectionError, quote};
use crate::modules::Target;
use crate::modules::fileops::CHECKSUM_ALGORITHMS;

/// What the target said about one file: its checksum and content, when asked for.
#[derive(Debug, Default)]
pub(super) struct Probe {
    pub(super) checksum: Option<String>,
    pub(super) content: Option<Vec<u8>>,
}

/// Reads checksums (with `algorithm`) and, with `content`, the bytes of `paths` in
/// one round trip; the paths travel on standard input, NUL-separated.
pub(super) async fn inspect(
    ctx: &Target<'_>,
    paths: &[&str],
    algorithm: Option<&str>,
    content: bool,
) -> Result<Vec<Probe>, ConnectionError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let checksum = match algorithm.filter(|a| CHECKSUM_ALGORITHMS.contains(a)) {
        Some(a) => format!("printf \"%s\\0\" \"$({a}sum < \"$f\" | cut -d\" \" -f1)\"; "),
        None => "printf \"%s\\0\" -; ".into(),
    };
    let body = if content { "base64 -w0 < \"$f\"; " } else { "" };
    let inner = format!(
        "for f; do if [ -f \"$f\" ] && [ -r \"$f\" ]; then {checksum}{body}printf \"\\0\"; \
         else printf \"!\\0!\\0\"; fi; done"
    );
    let mut command = Command::new(format!("xargs -0 sh -c {} sh", quote(&inner)));
    let mut input = Vec::new();
    for path in paths {
        input.extend_from_slice(path.as_bytes());
        input.push(0);
    }
    command.stdin = Some(input);
    let out = ctx.conn.exec(&command).await?;
    Ok(parse_probe(&out.stdout, paths.len(), content))
}

/// Parses [`inspect`]'s output: a checksum and a base64 content field per file.
fn parse_probe(output: &[u8], count: usize, content: bool) -> Vec<Probe> {
    let fields: Vec<&[u8]> = output.split(|b| *b == 0).collect();
    let mut probes: Vec<Probe> = fields
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| {
            if pair[0] == b"!" {
                return Probe::default();
            }
            let checksum = String::from_utf8_lossy(pair[0]).into_owned();
            Probe {
                checksum: (checksum != "-" && !checksum.is_empty()).then_some(checksum),
                content: content
                    .then(|| {
                        base64::engine::general_purpose::STANDARD
                            .decode(pair[1])
                            .ok()
                    })
                    .flatten(),
            }
        })
        .collect();
    probes.resize_with(count, Probe::default);
    probes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_parses() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(b"hi\0there");
        let output = format!("abc\0{encoded}\0!\0!\0");
        let probes = parse_probe(output.as_bytes(), 3, true);
        assert_eq!(probes[0].checksum.as_deref(), Some("abc"));
        assert_eq!(probes[0].content.as_deref(), Some(&b"hi\0there"[..]));
        assert_eq!(probes[1].checksum, None, "unreadable");
        assert_eq!(probes[1].content, None);
        assert_eq!(probes[2].checksum, None, "missing output");
        let checksums = parse_probe(b"-\0\0", 1, false);
        assert_eq!(checksums[0].checksum, None);
    }
}
