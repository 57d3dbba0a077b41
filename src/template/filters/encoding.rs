//! Serialization, encoding and hashing filters: `to_json`, `to_nice_json`,
//! `from_json`, `to_yaml`, `to_nice_yaml`, `b64encode`, `b64decode`,
//! `hash`, `checksum`, `sha1`, `md5` and `quote`.

use base64::Engine;
use base64::alphabet;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use md5::Md5;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, State, Value};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::template::args::{Params, ensure_defined, fail};
use crate::template::json_dump::{self, JsonOptions};
use crate::template::pyfmt::py_str;
use crate::template::yaml_dump::{self, YamlOptions};

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("hash", hash);
    env.add_filter("checksum", sha1);
    env.add_filter("sha1", sha1);
    env.add_filter("md5", md5);
    env.add_filter("quote", quote);
}

/// Reads an optional non-negative integer option.
fn usize_param(p: &Params, name: &str, filter: &str) -> Result<Option<usize>, Error> {
    p.int(name)?
        .map(|n| usize::try_from(n.max(0)).map_err(|_| fail(filter, format!("invalid {name}"))))
        .transpose()
}

fn json_options(p: &Params, filter: &str, defaults: JsonOptions) -> Result<JsonOptions, Error> {
    let separators = match p.get("separators") {
        None => defaults.separators,
        Some(v) => {
            let parts: Vec<String> = v
                .try_iter()
                .map(|it| it.map(|x| py_str(&x)).collect())
                .unwrap_or_default();
            match parts.as_slice() {
                [item, key] => Some((item.clone(), key.clone())),
                _ => return Err(fail(filter, "separators must be a pair of strings")),
            }
        }
    };
    Ok(JsonOptions {
        indent: usize_param(p, "indent", filter)?.or(defaults.indent),
        sort_keys: p.flag("sort_keys", defaults.sort_keys),
        ensure_ascii: p.flag("ensure_ascii", defaults.ensure_ascii),
        separators,
    })
}

/// `to_json(indent=None, sort_keys=False, ensure_ascii=True, separators=None)`:
/// Python's `json.dumps` text.
fn to_json(state: &State, value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let p = Params::keywords(
        "to_json",
        &["indent", "sort_keys", "ensure_ascii", "separators"],
        kwargs,
    )?;
    ensure_defined(state, value, "to_json")?;
    let opts = json_options(&p, "to_json", JsonOptions::default())?;
    json_dump::dumps(value, &opts).map(Value::from)
}

/// `to_nice_json(indent=4, sort_keys=True)`: indented JSON with sorted keys.
fn to_nice_json(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind(
        "to_nice_json",
        &["indent", "sort_keys", "ensure_ascii"],
        args,
        kwargs,
    )?;
    ensure_defined(state, value, "to_nice_json")?;
    let defaults = JsonOptions {
        indent: Some(4),
        sort_keys: true,
        ensure_ascii: true,
        separators: Some((",".into(), ": ".into())),
    };
    let opts = json_options(&p, "to_nice_json", defaults)?;
    json_dump::dumps(value, &opts).map(Value::from)
}

/// `from_json`: parses a JSON string.
fn from_json(state: &State, value: &Value) -> Result<Value, Error> {
    ensure_defined(state, value, "from_json")?;
    let text = value
        .as_str()
        .ok_or_else(|| fail("from_json", "the JSON object must be str"))?;
    let parsed: serde_json::Value =
        serde_json::from_str(text).map_err(|e| fail("from_json", format!("invalid JSON: {e}")))?;
    Ok(Value::from_serialize(parsed))
}

/// `from_yaml`: parses a YAML string with PyYAML's rules (YAML 1.1 booleans, octal).
fn from_yaml(state: &State, value: &Value) -> Result<Value, Error> {
    ensure_defined(state, value, "from_yaml")?;
    let text = value
        .as_str()
        .ok_or_else(|| fail("from_yaml", "the YAML document must be str"))?;
    let parsed = crate::yaml::parse_str("<from_yaml>", text)
        .map_err(|e| fail("from_yaml", format!("invalid YAML: {}", e.message)))?;
    Ok(Value::from_serialize(parsed.to_json()))
}

const YAML_KWARGS: [&str; 6] = [
    "indent",
    "width",
    "sort_keys",
    "default_flow_style",
    "explicit_start",
    "explicit_end",
];

fn yaml_options(p: &Params, filter: &str, defaults: YamlOptions) -> Result<YamlOptions, Error> {
    let flow_style = match p.get("default_flow_style") {
        None => defaults.flow_style,
        Some(v) if v.is_none() => None,
        Some(v) => Some(v.is_true()),
    };
    Ok(YamlOptions {
        indent: usize_param(p, "indent", filter)?.unwrap_or(defaults.indent),
        width: usize_param(p, "width", filter)?.unwrap_or(defaults.width),
        sort_keys: p.flag("sort_keys", defaults.sort_keys),
        flow_style,
        explicit_start: p.flag("explicit_start", defaults.explicit_start),
        explicit_end: p.flag("explicit_end", defaults.explicit_end),
    })
}

/// `to_yaml(**kwargs)`: PyYAML's `yaml.dump`; collections holding only
/// scalars are written in flow style.
fn to_yaml(state: &State, value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let p = Params::keywords("to_yaml", &YAML_KWARGS, kwargs)?;
    ensure_defined(state, value, "to_yaml")?;
    let opts = yaml_options(&p, "to_yaml", YamlOptions::default())?;
    yaml_dump::dump(value, &opts).map(Value::from)
}

/// `to_nice_yaml(indent=4, **kwargs)`: block-style YAML.
fn to_nice_yaml(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("to_nice_yaml", &YAML_KWARGS, args, kwargs)?;
    ensure_defined(state, value, "to_nice_yaml")?;
    let defaults = YamlOptions {
        indent: 4,
        flow_style: Some(false),
        ..YamlOptions::default()
    };
    let opts = yaml_options(&p, "to_nice_yaml", defaults)?;
    yaml_dump::dump(value, &opts).map(Value::from)
}

/// Text encodings accepted by the base64 filters.
#[derive(Clone, Copy)]
enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Latin1,
    Ascii,
}

impl Encoding {
    fn parse(name: &str, filter: &str) -> Result<Self, Error> {
        let normalized = name.to_ascii_lowercase().replace('_', "-");
        Ok(match normalized.as_str() {
            "utf-8" | "utf8" => Encoding::Utf8,
            "utf-16-le" | "utf-16le" => Encoding::Utf16Le,
            "utf-16-be" | "utf-16be" => Encoding::Utf16Be,
            "latin-1" | "latin1" | "iso-8859-1" => Encoding::Latin1,
            "ascii" | "us-ascii" => Encoding::Ascii,
            _ => return Err(fail(filter, format!("unsupported encoding '{name}'"))),
        })
    }

    fn encode(self, text: &str, filter: &str) -> Result<Vec<u8>, Error> {
        let narrow = |limit: u32| {
            text.chars()
                .map(|c| {
                    u8::try_from(c as u32)
                        .ok()
                        .filter(|b| u32::from(*b) <= limit)
                })
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| {
                    fail(
                        filter,
                        "the text cannot be encoded in the requested encoding",
                    )
                })
        };
        match self {
            Encoding::Utf8 => Ok(text.as_bytes().to_vec()),
            Encoding::Utf16Le => Ok(text.encode_utf16().flat_map(u16::to_le_bytes).collect()),
            Encoding::Utf16Be => Ok(text.encode_utf16().flat_map(u16::to_be_bytes).collect()),
            Encoding::Latin1 => narrow(0xff),
            Encoding::Ascii => narrow(0x7f),
        }
    }

    fn decode(self, bytes: &[u8], filter: &str) -> Result<String, Error> {
        let bad = || {
            fail(
                filter,
                "the decoded bytes are not valid in the requested encoding",
            )
        };
        let units = |to_u16: fn([u8; 2]) -> u16| {
            if !bytes.len().is_multiple_of(2) {
                return Err(bad());
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| to_u16([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).map_err(|_| bad())
        };
        match self {
            Encoding::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|_| bad()),
            Encoding::Utf16Le => units(u16::from_le_bytes),
            Encoding::Utf16Be => units(u16::from_be_bytes),
            Encoding::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
            Encoding::Ascii if bytes.is_ascii() => {
                Ok(bytes.iter().map(|&b| char::from(b)).collect())
            }
            Encoding::Ascii => Err(bad()),
        }
    }
}

/// The bytes a filter works on: raw bytes, or the `str()` of the value.
fn input_text(state: &State, value: &Value, filter: &str) -> Result<String, Error> {
    ensure_defined(state, value, filter)?;
    Ok(py_str(value))
}

/// `b64encode(encoding='utf-8', urlsafe=False)`.
fn b64encode(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("b64encode", &["encoding", "urlsafe"], args, kwargs)?;
    let bytes = match value
        .as_bytes()
        .filter(|_| value.kind() == ValueKind::Bytes)
    {
        Some(raw) => raw.to_vec(),
        None => {
            let encoding = Encoding::parse(&p.string("encoding", "utf-8")?, "b64encode")?;
            encoding.encode(&input_text(state, value, "b64encode")?, "b64encode")?
        }
    };
    let engine = if p.flag("urlsafe", false) {
        &base64::engine::general_purpose::URL_SAFE
    } else {
        &base64::engine::general_purpose::STANDARD
    };
    Ok(Value::from(engine.encode(bytes)))
}

/// `b64decode(encoding='utf-8', urlsafe=False)`: like Python's non-validating
/// decoder, characters outside the alphabet are ignored.
fn b64decode(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("b64decode", &["encoding", "urlsafe"], args, kwargs)?;
    let text = input_text(state, value, "b64decode")?;
    let encoding = Encoding::parse(&p.string("encoding", "utf-8")?, "b64decode")?;
    let urlsafe = p.flag("urlsafe", false);
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '-' if urlsafe => '+',
            '_' if urlsafe => '/',
            c => c,
        })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    let engine = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let bytes = engine
        .decode(cleaned)
        .map_err(|e| fail("b64decode", format!("invalid base64 input: {e}")))?;
    encoding.decode(&bytes, "b64decode").map(Value::from)
}

/// Hex digest of `data` with the named algorithm.
fn digest(data: &[u8], algorithm: &str) -> Option<String> {
    fn hex_of<D: Digest>(data: &[u8]) -> String {
        hex::encode(D::digest(data))
    }
    Some(match algorithm {
        "md5" => hex_of::<Md5>(data),
        "sha1" => hex_of::<Sha1>(data),
        "sha224" => hex_of::<Sha224>(data),
        "sha256" => hex_of::<Sha256>(data),
        "sha384" => hex_of::<Sha384>(data),
        "sha512" => hex_of::<Sha512>(data),
        _ => return None,
    })
}

/// `hash(hashtype='sha1')`: md5, sha1, sha224, sha256, sha384 or sha512.
fn hash(state: &State, value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let p = Params::bind("hash", &["hashtype"], args, kwargs)?;
    let algorithm = p.string("hashtype", "sha1")?;
    let text = input_text(state, value, "hash")?;
    digest(text.as_bytes(), &algorithm.to_ascii_lowercase())
        .map(Value::from)
        .ok_or_else(|| fail("hash", format!("unsupported hash type {algorithm}")))
}

/// `sha1` / `checksum`: the SHA-1 hex digest of the text.
fn sha1(state: &State, value: &Value) -> Result<Value, Error> {
    let text = input_text(state, value, "sha1")?;
    Ok(Value::from(hex::encode(Sha1::digest(text.as_bytes()))))
}

/// `md5`: the MD5 hex digest of the text.
fn md5(state: &State, value: &Value) -> Result<Value, Error> {
    let text = input_text(state, value, "md5")?;
    Ok(Value::from(hex::encode(Md5::digest(text.as_bytes()))))
}

/// `quote`: Python's `shlex.quote`; none quotes as `''`.
fn quote(state: &State, value: &Value) -> Result<Value, Error> {
    ensure_defined(state, value, "quote")?;
    let text = if value.is_none() {
        String::new()
    } else {
        py_str(value)
    };
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        return Ok(Value::from(text));
    }
    Ok(Value::from(format!("'{}'", text.replace('\'', "'\"'\"'"))))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn to_json_matches_python_defaults() {
        // json.dumps: ', ' and ': ' separators, insertion order, ASCII escapes.
        let ctx = json!({"d": {"b": [1, 2.0], "a": "é", "n": null, "t": true}});
        assert_eq!(
            eval("d|to_json", ctx.clone()),
            r#"{"b": [1, 2.0], "a": "\u00e9", "n": null, "t": true}"#
        );
        assert_eq!(
            eval("d|to_json(sort_keys=true, ensure_ascii=false)", ctx),
            r#"{"a": "é", "b": [1, 2.0], "n": null, "t": true}"#
        );
    }

    #[test]
    fn to_nice_json_exact_text() {
        // Ansible: indent=4, sort_keys=True, separators (',', ': ').
        let ctx = json!({"d": {"b": [1, {}], "a": {"x": "y"}}});
        let expected = "{\n    \"a\": {\n        \"x\": \"y\"\n    },\n    \"b\": [\n        1,\n        {}\n    ]\n}";
        assert_eq!(eval("d|to_nice_json", ctx.clone()), expected);
        assert_eq!(
            eval("d|to_nice_json(indent=2)", ctx).lines().nth(1),
            Some("  \"a\": {")
        );
    }

    #[test]
    fn from_yaml_reads_yaml_1_1() {
        // Ansible's from_yaml is PyYAML: `yes` is a boolean, `0644` is octal.
        assert_eq!(
            eval("'a: yes\\nb: 0644'|from_yaml|to_json", json!({})),
            r#"{"a": true, "b": 420}"#
        );
        assert!(eval_err("'a: [1'|from_yaml", json!({})).contains("from_yaml"));
    }

    #[test]
    fn from_json_parses_in_order() {
        assert_eq!(
            eval(r#"'{"b": 1, "a": [true]}'|from_json|to_json"#, json!({})),
            r#"{"b": 1, "a": [true]}"#
        );
        assert!(eval_err("'{'|from_json", json!({})).contains("from_json"));
    }

    #[test]
    fn yaml_filters_match_pyyaml() {
        let ctx = json!({"d": {"b": [1, 2], "a": {"k": "yes"}}});
        assert_eq!(eval("d|to_yaml", ctx.clone()), "a: {k: 'yes'}\nb: [1, 2]\n");
        assert_eq!(
            eval("d|to_nice_yaml", ctx.clone()),
            "a:\n    k: 'yes'\nb:\n- 1\n- 2\n"
        );
        assert_eq!(
            eval("d|to_nice_yaml(indent=2)", ctx.clone()),
            "a:\n  k: 'yes'\nb:\n- 1\n- 2\n"
        );
        assert_eq!(
            eval("d|to_nice_yaml(sort_keys=false)", ctx),
            "b:\n- 1\n- 2\na:\n    k: 'yes'\n"
        );
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(eval("'hello'|b64encode", json!({})), "aGVsbG8=");
        assert_eq!(eval("'aGVsbG8='|b64decode", json!({})), "hello");
        assert_eq!(eval("'aGVs\nbG8='|b64decode", json!({})), "hello");
        assert_eq!(
            eval("'hi'|b64encode(encoding='utf-16-le')", json!({})),
            "aABpAA=="
        );
        assert_eq!(
            eval("'aABpAA=='|b64decode(encoding='utf-16-le')", json!({})),
            "hi"
        );
        assert_eq!(eval("'??>'|b64encode(urlsafe=true)", json!({})), "Pz8-");
        assert!(eval_err("'aGVsbG8'|b64decode", json!({})).contains("b64decode"));
    }

    #[test]
    fn hashes_are_hex_digests() {
        assert_eq!(
            eval("'test'|sha1", json!({})),
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
        );
        assert_eq!(
            eval("'test'|checksum", json!({})),
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
        );
        assert_eq!(
            eval("'test'|md5", json!({})),
            "098f6bcd4621d373cade4e832627b4f6"
        );
        assert_eq!(
            eval("'test'|hash('sha256')", json!({})),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert!(eval_err("'x'|hash('nope')", json!({})).contains("unsupported hash type"));
    }

    #[test]
    fn quote_matches_shlex() {
        assert_eq!(eval("'abc/d.e'|quote", json!({})), "abc/d.e");
        assert_eq!(eval("''|quote", json!({})), "''");
        assert_eq!(eval("none|quote", json!({})), "''");
        assert_eq!(eval("\"it's here\"|quote", json!({})), r#"'it'"'"'s here'"#);
    }
}
