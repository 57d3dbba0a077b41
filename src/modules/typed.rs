//! Typed module arguments: a module declares its arguments once, as a struct written
//! with [`module_args!`], and gets from that one declaration both the parameter spec
//! (names, kinds, aliases, choices, defaults, required) that the loader checks, `bosun
//! doc` prints and errors quote, and the typed value the module reads. A declared
//! argument that no code reads is a `dead_code` error under clippy's `-D warnings`, so
//! an accepted-but-ignored parameter cannot come back.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

use super::args::{Args, Kind, Param, find_param};
use super::fileops::Attributes;

/// A Rust type an argument can be read into, with the Ansible kind it declares.
pub trait ArgType {
    /// The kind the loader checks and converts to.
    const KIND: Kind;
    /// The values allowed, when the type is a closed set ([`arg_enum!`]).
    const CHOICES: &'static [&'static str] = &[];
    /// The value an argument that was not given takes, when the type has one of its
    /// own (`None` for options, `[]` for lists); types without one need a default or
    /// `required()`.
    const ABSENT: Option<fn() -> Json> = None;

    /// Brings a converted value to the shape this type reads (list items written
    /// out as strings for `Vec<String>`).
    fn normalize(value: Json) -> Json {
        value
    }
}

impl ArgType for String {
    const KIND: Kind = Kind::Str;
}

impl ArgType for bool {
    const KIND: Kind = Kind::Bool;
}

impl ArgType for i64 {
    const KIND: Kind = Kind::Int;
}

impl ArgType for u32 {
    const KIND: Kind = Kind::Int;
}

impl ArgType for u64 {
    const KIND: Kind = Kind::Int;
}

impl ArgType for f64 {
    const KIND: Kind = Kind::Float;
}

impl ArgType for Json {
    const KIND: Kind = Kind::Raw;
    const ABSENT: Option<fn() -> Json> = Some(|| Json::Null);
}

impl ArgType for Map<String, Json> {
    const KIND: Kind = Kind::Dict;
}

impl ArgType for Vec<Json> {
    const KIND: Kind = Kind::List;
    const ABSENT: Option<fn() -> Json> = Some(|| Json::Array(Vec::new()));
}

impl ArgType for Vec<String> {
    const KIND: Kind = Kind::List;
    const ABSENT: Option<fn() -> Json> = Some(|| Json::Array(Vec::new()));

    fn normalize(value: Json) -> Json {
        match value {
            Json::Array(items) => Json::Array(
                items
                    .into_iter()
                    .map(|item| match item {
                        Json::String(_) => item,
                        other => Json::String(other.to_string()),
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

impl<T: ArgType> ArgType for Option<T> {
    const KIND: Kind = T::KIND;
    const CHOICES: &'static [&'static str] = T::CHOICES;
    const ABSENT: Option<fn() -> Json> = Some(|| Json::Null);

    fn normalize(value: Json) -> Json {
        if value.is_null() {
            value
        } else {
            T::normalize(value)
        }
    }
}

/// Rules between a module's arguments, checked after they are typed, in Ansible's
/// words.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rules {
    /// Groups of which at most one may be given.
    pub mutually_exclusive: &'static [&'static [&'static str]],
    /// Groups of which at least one must be given.
    pub required_one_of: &'static [&'static [&'static str]],
    /// Groups given all together or not at all.
    pub required_together: &'static [&'static [&'static str]],
    /// `(name, value, needed)`: when `name` is `value`, every one of `needed` is given.
    pub required_if: &'static [(&'static str, &'static str, &'static [&'static str])],
}

impl Rules {
    /// No rules.
    pub const NONE: Rules = Rules {
        mutually_exclusive: &[],
        required_one_of: &[],
        required_together: &[],
        required_if: &[],
    };

    /// Checks `args` against the rules; the message is Ansible's. As Ansible's
    /// validator, `required_if` is checked after the declared defaults of `params`
    /// are set (a `state` left at its default `present` triggers its rule), the
    /// exclusions before.
    pub fn check(&self, args: &Args, params: &[Param]) -> Result<(), String> {
        let given = |name: &str| args.get(name).is_some();
        let current = |name: &str| {
            args.get(name).cloned().or_else(|| {
                find_param(params, name)
                    .and_then(|p| p.default)
                    .map(|d| d.to_json())
                    .filter(|d| !d.is_null())
            })
        };
        for group in self.mutually_exclusive {
            if group.iter().filter(|n| given(n)).count() > 1 {
                return Err(format!(
                    "parameters are mutually exclusive: {}",
                    group.join("|")
                ));
            }
        }
        for group in self.required_one_of {
            if !group.iter().any(|n| given(n)) {
                return Err(format!(
                    "one of the following is required: {}",
                    group.join(", ")
                ));
            }
        }
        for group in self.required_together {
            let count = group.iter().filter(|n| given(n)).count();
            if count != 0 && count != group.len() {
                return Err(format!(
                    "parameters are required together: {}",
                    group.join(", ")
                ));
            }
        }
        for (name, value, needed) in self.required_if {
            let matches = current(name).is_some_and(|v| match v {
                Json::String(s) => s == *value,
                other => other.to_string().as_str() == *value,
            });
            let missing: Vec<&str> = needed
                .iter()
                .copied()
                .filter(|n| current(n).is_none())
                .collect();
            if matches && !missing.is_empty() {
                return Err(format!(
                    "{name} is {value} but all of the following are missing: {}",
                    missing.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// A module's typed arguments, declared with [`module_args!`].
pub trait TypedArgs: Send + Sync + Sized {
    /// The parameter spec derived from the declaration.
    const PARAMS: &'static [Param];
    /// The rules between arguments.
    const RULES: Rules = Rules::NONE;
    /// Whether the file attribute parameters (mode, owner, group ...) come too.
    const FILE_ATTRIBUTES: bool = false;

    /// Reads checked, converted arguments into the typed value: the rules checked,
    /// then defaults filled in.
    fn from_args(args: &Args) -> Result<Self, String>;
}

/// One field of a typed argument struct: its parameter name, its [`ArgType::normalize`]
/// and its [`ArgType::ABSENT`].
pub type FieldShape = (&'static str, fn(Json) -> Json, Option<fn() -> Json>);

/// What [`module_args!`]'s `from_args` does: checks `rules`, gives each field its
/// value (given, the declared default, or the type's absent value) and deserializes.
pub fn fill<T: DeserializeOwned>(
    params: &[Param],
    rules: &Rules,
    fields: &[FieldShape],
    args: &Args,
) -> Result<T, String> {
    rules.check(args, params)?;
    let mut map = Map::new();
    for (name, normalize, absent) in fields {
        let param = find_param(params, name)
            .ok_or_else(|| format!("argument '{name}' has no declared parameter"))?;
        let value = match args.get(name) {
            Some(value) => Some(normalize(value.clone())),
            None => param
                .default
                .map(|d| normalize(default_of_kind(param.kind, d.to_json())))
                .or(absent.map(|f| f())),
        };
        if let Some(value) = value {
            map.insert(param.name.to_string(), value);
        }
    }
    serde_json::from_value(Json::Object(map))
        .map_err(|err| format!("invalid module arguments: {err}"))
}

/// A declared default in the shape its kind reads: a list's default given as a
/// string (`gather_subset: all`) is a list of its comma-separated words.
fn default_of_kind(kind: Kind, value: Json) -> Json {
    match (kind, value) {
        (Kind::List, Json::String(text)) => Json::Array(
            text.split(',')
                .map(|word| Json::String(word.trim().to_string()))
                .collect(),
        ),
        (_, value) => value,
    }
}

/// `parts` one after the other, in a constant: the spec of a struct whose fields
/// include shared groups ([`module_args!`]'s `..name: Group`).
pub const fn concat_params<const N: usize>(parts: &[&[Param]]) -> [Param; N] {
    let mut all = [Param::new("", Kind::Raw); N];
    let mut at = 0;
    let mut part = 0;
    while part < parts.len() {
        let mut i = 0;
        while i < parts[part].len() {
            all[at] = parts[part][i];
            at += 1;
            i += 1;
        }
        part += 1;
    }
    assert!(at == N, "the parts fill the spec exactly");
    all
}

/// A module's own typed arguments plus the file attribute parameters.
#[derive(Debug)]
pub struct WithAttributes<A> {
    /// The module's own arguments.
    pub args: A,
    /// mode, owner, group, chattr flags, SELinux context, unsafe_writes.
    pub attributes: Attributes,
}

impl<A: TypedArgs> TypedArgs for WithAttributes<A> {
    const PARAMS: &'static [Param] = A::PARAMS;
    const RULES: Rules = A::RULES;
    const FILE_ATTRIBUTES: bool = true;

    fn from_args(args: &Args) -> Result<Self, String> {
        Ok(WithAttributes {
            args: A::from_args(args)?,
            attributes: Attributes::from_args(args)?,
        })
    }
}

/// A field's parameter name: its identifier without the raw prefix (`r#type` is
/// `type`).
pub const fn param_name(ident: &'static str) -> &'static str {
    match ident.as_bytes() {
        [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
            Ok(name) => name,
            Err(_) => ident,
        },
        _ => ident,
    }
}

/// A field's parameter name: the name given with `as "name"`, else the identifier.
macro_rules! param_name_of {
    ($field:ident) => {
        $crate::modules::typed::param_name(stringify!($field))
    };
    ($field:ident $pname:literal) => {
        $pname
    };
}
pub(crate) use param_name_of;

/// Declares a module's arguments: a struct whose private fields the module reads, and
/// its [`TypedArgs`] impl with the parameter spec. Each field is `name: Type` (or
/// `name as "_raw_params": Type` when the parameter's name is not an identifier), then
/// optionally `=>` and [`Param`] builder calls (`.required()`, `.aliases(&[..])`,
/// `.choices(&[..])`, `.default_str(..)`). Fields written first as `..name: Group`
/// take a group of arguments several modules share, itself declared with
/// `module_args!` (`..request: http::UrlArgs`): its parameters come first in the spec,
/// its rules are checked too, and the module reads it as one field. A trailing
/// `rules: Rules { .. }` adds the rules between arguments.
macro_rules! module_args {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( .. $group:ident : $gty:ty , )*
            $(
                $(#[doc = $doc:literal])*
                $field:ident $(as $pname:literal)? : $ty:ty
                    $( => $( . $method:ident ( $($arg:expr),* ) )+ )?
            ),* $(,)?
        }
        $( rules: $rules:expr ; )?
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        $vis struct $name {
            $( $group: $gty, )*
            $( $(#[doc = $doc])* $field: $ty, )*
        }

        impl $crate::modules::typed::TypedArgs for $name {
            const PARAMS: &'static [$crate::modules::args::Param] = {
                const OWN: &[$crate::modules::args::Param] = &[
                    $(
                        $crate::modules::args::Param::new(
                            $crate::modules::typed::param_name_of!($field $($pname)?),
                            <$ty as $crate::modules::typed::ArgType>::KIND,
                        )
                        .choices(<$ty as $crate::modules::typed::ArgType>::CHOICES)
                        $( $( . $method ( $($arg),* ) )+ )?
                    ),*
                ];
                const ALL: [
                    $crate::modules::args::Param;
                    OWN.len() $( + <$gty as $crate::modules::typed::TypedArgs>::PARAMS.len() )*
                ] = $crate::modules::typed::concat_params(&[
                    $( <$gty as $crate::modules::typed::TypedArgs>::PARAMS, )*
                    OWN,
                ]);
                &ALL
            };
            $( const RULES: $crate::modules::typed::Rules = $rules; )?

            fn from_args(args: &$crate::modules::args::Args) -> Result<Self, String> {
                /// The struct's own fields, as the arguments fill them.
                #[derive(serde::Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Own {
                    $( $(#[serde(rename = $pname)])? $field: $ty, )*
                }
                let fields: &[$crate::modules::typed::FieldShape] = &[$(
                    (
                        $crate::modules::typed::param_name_of!($field $($pname)?),
                        <$ty as $crate::modules::typed::ArgType>::normalize,
                        <$ty as $crate::modules::typed::ArgType>::ABSENT,
                    )
                ),*];
                #[allow(unused_variables)]
                let own: Own =
                    $crate::modules::typed::fill(Self::PARAMS, &Self::RULES, fields, args)?;
                Ok($name {
                    $( $group: <$gty as $crate::modules::typed::TypedArgs>::from_args(args)?, )*
                    $( $field: own.$field, )*
                })
            }
        }
    };
}
pub(crate) use module_args;

/// Declares a closed set of string choices as an enum: each variant with the word
/// Ansible uses for it. The enum is an [`ArgType`] whose choices the spec lists.
macro_rules! arg_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[doc = $doc:literal])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[doc = $doc])* $variant ),+
        }

        impl $name {
            /// The word Ansible uses for this choice.
            #[allow(dead_code)]
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $word ),+ }
            }
        }

        impl $crate::modules::typed::ArgType for $name {
            const KIND: $crate::modules::args::Kind = $crate::modules::args::Kind::Str;
            const CHOICES: &'static [&'static str] = &[$($word),+];
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                let word = String::deserialize(de)?;
                match word.as_str() {
                    $( $word => Ok($name::$variant), )+
                    other => Err(serde::de::Error::unknown_variant(other, &[$($word),+])),
                }
            }
        }
    };
}
pub(crate) use arg_enum;

/// Typed arguments from a JSON mapping, checked as a task's would be (the file
/// attributes too, when the module takes them): for modules' unit tests of `decide`.
#[cfg(test)]
pub fn from_json<A: TypedArgs>(value: Json) -> Result<A, String> {
    A::from_args(&args_from_json::<A>(value)?)
}

/// A task's checked arguments for module `A` from a JSON mapping, before typing: for
/// unit tests that hand a loop's items' arguments to a module.
#[cfg(test)]
pub fn args_from_json<A: TypedArgs>(value: Json) -> Result<Args, String> {
    let raw: indexmap::IndexMap<String, Json> =
        serde_json::from_value(value).map_err(|err| err.to_string())?;
    let mut params = A::PARAMS.to_vec();
    if A::FILE_ATTRIBUTES {
        params.extend_from_slice(super::fileops::ATTRIBUTE_PARAMS);
    }
    Args::parse(&params, &raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use serde_json::json;

    arg_enum! {
        /// Whether the thing exists.
        enum State {
            Present = "present",
            Absent = "absent",
        }
    }

    module_args! {
        /// Arguments of a test module.
        struct Example {
            /// The path.
            path: String => .required().aliases(&["dest"]),
            state: State => .default_str("present"),
            force: bool => .default_bool(false),
            retries: Option<i64>,
            names: Vec<String>,
            subsets: Vec<String> => .default_str("all"),
            r#type: Option<String>,
            raw as "_raw_params": Option<String>,
        }
        rules: Rules { mutually_exclusive: &[&["retries", "type"]], ..Rules::NONE };
    }

    module_args! {
        /// A group of arguments two modules share.
        struct Shared {
            url: String => .required(),
            timeout: i64 => .default_int(30),
            proxy: Option<String>,
        }
        rules: Rules { mutually_exclusive: &[&["url", "proxy"]], ..Rules::NONE };
    }

    module_args! {
        /// Arguments with a shared group.
        struct Grouped {
            ..shared: Shared,
            dest: Option<String>,
        }
    }

    #[test]
    fn a_shared_group_comes_first_in_the_spec_and_fills_its_field() {
        let names: Vec<&str> = Grouped::PARAMS.iter().map(|p| p.name).collect();
        assert_eq!(names, ["url", "timeout", "proxy", "dest"]);
        assert!(Grouped::PARAMS[0].required);
        let args: Grouped = from_json(json!({"url": "http://x", "dest": "/d"})).expect("valid");
        assert_eq!(args.shared.url, "http://x");
        assert_eq!(args.shared.timeout, 30, "the group's default");
        assert_eq!(args.dest.as_deref(), Some("/d"));
        assert_eq!(args.shared.proxy, None);
        let err = from_json::<Grouped>(json!({"url": "u", "proxy": "p"})).expect_err("its rules");
        assert_eq!(err, "parameters are mutually exclusive: url|proxy");
    }

    fn typed(value: Json) -> Result<Example, String> {
        from_json(value)
    }

    #[test]
    fn the_spec_comes_from_the_declaration() {
        let names: Vec<&str> = Example::PARAMS.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "path",
                "state",
                "force",
                "retries",
                "names",
                "subsets",
                "type",
                "_raw_params"
            ]
        );
        let state = &Example::PARAMS[1];
        assert_eq!(state.choices, ["present", "absent"]);
        assert_eq!(state.kind, Kind::Str);
        assert!(Example::PARAMS[0].required);
        assert_eq!(Example::PARAMS[0].aliases, ["dest"]);
    }

    #[test]
    fn defaults_aliases_and_loose_values_are_read() {
        let args = typed(json!({"dest": "/x", "force": "yes", "names": "a, 2"})).expect("valid");
        assert_eq!(args.path, "/x");
        assert_eq!(args.state, State::Present);
        assert!(args.force);
        assert_eq!(args.retries, None);
        assert_eq!(args.names, ["a", "2"]);
        assert_eq!(args.subsets, ["all"], "a list's default is a list");
        assert_eq!(args.r#type, None);
        assert_eq!(args.raw, None);
        let args = typed(json!({"path": "/x", "_raw_params": "free form"})).expect("valid");
        assert_eq!(args.raw.as_deref(), Some("free form"));
        let args =
            typed(json!({"path": "/x", "state": "absent", "names": [1, "b"]})).expect("valid");
        assert_eq!(args.state, State::Absent);
        assert_eq!(args.names, ["1", "b"]);
    }

    #[test]
    fn choices_and_rules_fail_in_ansibles_words() {
        let err = typed(json!({"path": "/x", "state": "gone"})).expect_err("bad");
        assert_eq!(
            err,
            "value of state must be one of: present, absent, got: gone"
        );
        let err = typed(json!({"path": "/x", "retries": 2, "type": "t"})).expect_err("bad");
        assert_eq!(err, "parameters are mutually exclusive: retries|type");
    }

    #[test]
    fn rules_name_what_is_missing() {
        const RULES: Rules = Rules {
            required_if: &[("state", "present", &["value", "key"])],
            required_one_of: &[&["a", "b"]],
            required_together: &[&["c", "d"]],
            ..Rules::NONE
        };
        let parse = |value: Json| {
            const PARAMS: &[Param] = &[
                Param::new("state", Kind::Str),
                Param::new("value", Kind::Str),
                Param::new("key", Kind::Str),
                Param::new("a", Kind::Str),
                Param::new("b", Kind::Str),
                Param::new("c", Kind::Str),
                Param::new("d", Kind::Str),
            ];
            let raw: IndexMap<String, Json> = serde_json::from_value(value).expect("mapping");
            RULES.check(&Args::parse(PARAMS, &raw).expect("valid"), PARAMS)
        };
        assert_eq!(
            parse(json!({"state": "present", "key": "k"})),
            Err("one of the following is required: a, b".to_string())
        );
        assert_eq!(
            parse(json!({"state": "present", "key": "k", "a": "1", "c": "1"})),
            Err("parameters are required together: c, d".to_string())
        );
        assert_eq!(
            parse(json!({"state": "present", "key": "k", "a": "1"})),
            Err("state is present but all of the following are missing: value".to_string())
        );
        assert_eq!(parse(json!({"state": "absent", "b": "1"})), Ok(()));
    }
}
