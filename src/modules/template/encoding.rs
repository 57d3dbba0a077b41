//! `output_encoding`: the rendered text encoded with a Python codec, as Ansible writes
//! it (`to_bytes(text, encoding=output_encoding)`). The Unicode codecs and the two
//! Latin ones Python has built in; any other name is refused in Python's words.

/// A codec bosun can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    /// UTF-8, optionally with a byte-order mark (`utf-8-sig`).
    Utf8 { bom: bool },
    /// UTF-16; `bom` for plain `utf-16` (little-endian with a BOM, as Python on x86).
    Utf16 { big: bool, bom: bool },
    /// UTF-32, as UTF-16.
    Utf32 { big: bool, bom: bool },
    /// One byte per character below `limit` (128 for ASCII, 256 for Latin-1).
    Narrow { name: &'static str, limit: u32 },
}

/// The codec Python's `codecs.lookup` finds for `name`.
fn lookup(name: &str) -> Option<Codec> {
    let normal: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '-' || c == ' ' { '_' } else { c })
        .collect();
    Some(match normal.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "cp65001" => Codec::Utf8 { bom: false },
        "utf_8_sig" | "utf8_sig" => Codec::Utf8 { bom: true },
        "utf_16" | "utf16" | "u16" => Codec::Utf16 {
            big: false,
            bom: true,
        },
        "utf_16_le" | "utf_16le" => Codec::Utf16 {
            big: false,
            bom: false,
        },
        "utf_16_be" | "utf_16be" => Codec::Utf16 {
            big: true,
            bom: false,
        },
        "utf_32" | "utf32" | "u32" => Codec::Utf32 {
            big: false,
            bom: true,
        },
        "utf_32_le" | "utf_32le" => Codec::Utf32 {
            big: false,
            bom: false,
        },
        "utf_32_be" | "utf_32be" => Codec::Utf32 {
            big: true,
            bom: false,
        },
        "latin_1" | "latin1" | "latin" | "l1" | "iso_8859_1" | "iso8859_1" | "8859" | "cp819"
        | "iso_ir_100" => Codec::Narrow {
            name: "latin-1",
            limit: 256,
        },
        "ascii" | "us_ascii" | "646" | "us" | "ansi_x3.4_1968" | "iso646_us" | "cp367" => {
            Codec::Narrow {
                name: "ascii",
                limit: 128,
            }
        }
        _ => return None,
    })
}

/// `text` encoded as `encoding` names it; Python's messages for an unknown codec or a
/// character the codec cannot write.
pub fn encode(text: &str, encoding: &str) -> Result<Vec<u8>, String> {
    let codec = lookup(encoding).ok_or_else(|| format!("unknown encoding: {encoding}"))?;
    Ok(match codec {
        Codec::Utf8 { bom } => {
            let mut out = if bom {
                vec![0xEF, 0xBB, 0xBF]
            } else {
                Vec::new()
            };
            out.extend_from_slice(text.as_bytes());
            out
        }
        Codec::Utf16 { big, bom } => {
            let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
            units
                .flat_map(|u| {
                    if big {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    }
                })
                .collect()
        }
        Codec::Utf32 { big, bom } => {
            let points = bom
                .then_some(0xFEFF)
                .into_iter()
                .chain(text.chars().map(u32::from));
            points
                .flat_map(|p| {
                    if big {
                        p.to_be_bytes()
                    } else {
                        p.to_le_bytes()
                    }
                })
                .collect()
        }
        Codec::Narrow { name, limit } => {
            let mut out = Vec::with_capacity(text.len());
            for (position, c) in text.chars().enumerate() {
                match u8::try_from(u32::from(c)) {
                    Ok(byte) if u32::from(c) < limit => out.push(byte),
                    _ => {
                        return Err(format!(
                            "'{name}' codec can't encode character '{}' in position {position}: ordinal not in range({limit})",
                            python_escape(c)
                        ));
                    }
                }
            }
            out
        }
    })
}

/// A character as Python's `repr` escapes a non-ASCII one (`\xe9`, `\u20ac`).
fn python_escape(c: char) -> String {
    match u32::from(c) {
        n if n < 0x100 => format!("\\x{n:02x}"),
        n if n < 0x10000 => format!("\\u{n:04x}"),
        n => format!("\\U{n:08x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_write_python_bytes() {
        assert_eq!(encode("hé", "utf-8"), Ok("hé".as_bytes().to_vec()));
        assert_eq!(
            encode("hé", "UTF-16"),
            Ok(vec![0xFF, 0xFE, b'h', 0, 0xE9, 0])
        );
        assert_eq!(encode("h", "utf_16_be"), Ok(vec![0, b'h']));
        assert_eq!(encode("h", "utf-32-le"), Ok(vec![b'h', 0, 0, 0]));
        assert_eq!(encode("hé", "latin-1"), Ok(vec![b'h', 0xE9]));
        assert_eq!(encode("h", "utf-8-sig"), Ok(vec![0xEF, 0xBB, 0xBF, b'h']));
    }

    #[test]
    fn what_a_codec_cannot_write_fails_in_pythons_words() {
        assert_eq!(
            encode("a€", "latin1"),
            Err("'latin-1' codec can't encode character '\\u20ac' in position 1: ordinal not in range(256)".into())
        );
        assert_eq!(
            encode("é", "ascii"),
            Err("'ascii' codec can't encode character '\\xe9' in position 0: ordinal not in range(128)".into())
        );
        assert_eq!(
            encode("x", "klingon"),
            Err("unknown encoding: klingon".into())
        );
    }
}
