//! A reader of DER, the encoding of keys, certificate signing requests and
//! certificates: tag, length, body, nothing more. The X.509 structures built on it are
//! in [`super::x509`].

/// `SEQUENCE`.
pub const SEQUENCE: u8 = 0x30;
/// `SET`.
pub const SET: u8 = 0x31;
/// `BOOLEAN`.
pub const BOOLEAN: u8 = 0x01;
/// `INTEGER`.
pub const INTEGER: u8 = 0x02;
/// `BIT STRING`.
pub const BIT_STRING: u8 = 0x03;
/// `OCTET STRING`.
pub const OCTET_STRING: u8 = 0x04;
/// `OBJECT IDENTIFIER`.
pub const OID: u8 = 0x06;
/// `UTCTime`.
pub const UTC_TIME: u8 = 0x17;
/// `GeneralizedTime`.
pub const GENERALIZED_TIME: u8 = 0x18;

/// One encoded value.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    /// The tag byte (class, constructed bit and number below 31).
    pub tag: u8,
    /// The content octets.
    pub body: &'a [u8],
    /// The whole encoding, tag and length included.
    pub whole: &'a [u8],
}

/// Reads the values of one level one after the other.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of the values in `data`.
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { rest: data }
    }

    /// Whether every value was read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next value, if any.
    pub fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next value, whatever its tag.
    pub fn any(&mut self) -> Result<Tlv<'a>, String> {
        let data = self.rest;
        let (&tag, after_tag) = data.split_first().ok_or("DER: value expected")?;
        if tag & 0x1f == 0x1f {
            return Err("DER: multi-byte tags are not supported".to_string());
        }
        let (&first, after_first) = after_tag.split_first().ok_or("DER: length expected")?;
        let (len, body_start) = if first < 0x80 {
            (usize::from(first), after_first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || after_first.len() < count {
                return Err("DER: bad length".to_string());
            }
            let len = after_first[..count]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &after_first[count..])
        };
        if body_start.len() < len {
            return Err("DER: value longer than its container".to_string());
        }
        let header = data.len() - body_start.len();
        self.rest = &body_start[len..];
        Ok(Tlv {
            tag,
            body: &body_start[..len],
            whole: &data[..header + len],
        })
    }

    /// The next value, which must have `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, String> {
        let value = self.any()?;
        if value.tag != tag {
            return Err(format!(
                "DER: tag {:#04x} where {tag:#04x} was expected",
                value.tag
            ));
        }
        Ok(value)
    }

    /// The next value when it has `tag`; nothing read otherwise.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, String> {
        match self.peek() {
            Some(next) if next == tag => self.any().map(Some),
            _ => Ok(None),
        }
    }
}

/// The values inside a constructed value's body.
pub fn inside<'a>(value: &Tlv<'a>) -> Reader<'a> {
    Reader::new(value.body)
}

/// An object identifier's body in dotted form (`2.5.4.3`).
pub fn oid_text(body: &[u8]) -> Result<String, String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut current: u64 = 0;
    for &byte in body {
        current = current
            .checked_mul(128)
            .ok_or("DER: object identifier arc too large")?
            | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (current / 40).min(2);
                arcs.push(first);
                arcs.push(current - first * 40);
            } else {
                arcs.push(current);
            }
            current = 0;
        }
    }
    if arcs.is_empty() || body.last().is_some_and(|b| b & 0x80 != 0) {
        return Err("DER: bad object identifier".to_string());
    }
    Ok(arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

/// The number of significant bits of an unsigned big-endian integer (an RSA modulus).
pub fn bit_length(body: &[u8]) -> u32 {
    let digits: &[u8] = match body.iter().position(|&b| b != 0) {
        Some(first) => &body[first..],
        None => return 0,
    };
    let top = 8 - digits[0].leading_zeros();
    (digits.len() as u32 - 1) * 8 + top
}

/// A string value (`UTF8String`, `PrintableString`, `BMPString` ...) as text.
pub fn string_text(value: &Tlv<'_>) -> Result<String, String> {
    match value.tag {
        // UTF8String, NumericString, PrintableString, IA5String, VisibleString
        0x0c | 0x12 | 0x13 | 0x16 | 0x1a => String::from_utf8(value.body.to_vec())
            .map_err(|_| "DER: a string is not UTF-8".to_string()),
        // T61String, read as Latin-1 as OpenSSL and cryptography do
        0x14 => Ok(value.body.iter().map(|&b| char::from(b)).collect()),
        // BMPString
        0x1e => {
            let units: Vec<u16> = value
                .body
                .chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16(&units).map_err(|_| "DER: bad BMPString".to_string())
        }
        // UniversalString
        0x1c => value
            .body
            .chunks(4)
            .map(|quad| {
                let mut word = [0u8; 4];
                word[..quad.len()].copy_from_slice(quad);
                char::from_u32(u32::from_be_bytes(word)).ok_or("DER: bad UniversalString")
            })
            .collect::<Result<String, _>>()
            .map_err(str::to_string),
        other => Err(format!("DER: tag {other:#04x} is not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_with_short_and_long_lengths() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7u8, 128));
        long.extend([0x05, 0x00]);
        let mut reader = Reader::new(&long);
        let first = reader.expect(OCTET_STRING).expect("an octet string");
        assert_eq!(first.body.len(), 128);
        assert_eq!(first.whole.len(), 131);
        assert!(reader.optional(SEQUENCE).expect("no error").is_none());
        assert_eq!(reader.any().expect("null").tag, 0x05);
        assert!(reader.is_empty());
        assert!(Reader::new(&[0x04, 0x05, 1]).any().is_err(), "truncated");
    }

    #[test]
    fn object_identifiers_read_as_dotted_text() {
        assert_eq!(oid_text(&[0x55, 0x04, 0x03]).as_deref(), Ok("2.5.4.3"));
        let rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
        assert_eq!(oid_text(&rsa).as_deref(), Ok("1.2.840.113549.1.1.1"));
        assert!(oid_text(&[0x86]).is_err());
    }

    #[test]
    fn bit_lengths_skip_leading_zeros() {
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01]), 1);
        assert_eq!(bit_length(&[0x00]), 0);
    }

    #[test]
    fn strings_decode_by_their_tag() {
        let bmp = Tlv {
            tag: 0x1e,
            body: &[0x00, 0x68, 0x00, 0xe9],
            whole: &[],
        };
        assert_eq!(string_text(&bmp).as_deref(), Ok("hé"));
        let t61 = Tlv {
            tag: 0x14,
            body: &[0x68, 0xe9],
            whole: &[],
        };
        assert_eq!(string_text(&t61).as_deref(), Ok("hé"));
    }
}
