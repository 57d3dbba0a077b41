//! Data structure filters: `combine`, `dict2items`, `items2dict`,
//! `flatten`, `extract`, `subelements`, `zip`, `zip_longest` and `product`.

use indexmap::IndexMap;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, State, Value};

use crate::template::args::{Params, ensure_defined, fail};
use crate::template::pyfmt::{
    is_sequence, iter_items, list_items, make_map, map_pairs, py_repr, type_name,
};

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("extract", extract);
    env.add_filter("subelements", subelements);
    env.add_filter("zip", zip);
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("product", product);
}

/// How `combine` merges two lists found under the same key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

impl ListMerge {
    fn parse(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "replace" => ListMerge::Replace,
            "keep" => ListMerge::Keep,
            "append" => ListMerge::Append,
            "prepend" => ListMerge::Prepend,
            "append_rp" => ListMerge::AppendRp,
            "prepend_rp" => ListMerge::PrependRp,
            _ => {
                return Err(fail(
                    "combine",
                    "'list_merge' argument can only be equal to 'replace', 'keep', 'append', \
                     'prepend', 'append_rp' or 'prepend_rp'",
                ));
            }
        })
    }
}

/// `combine(*dicts, recursive=False, list_merge='replace')`: later dicts win;
/// lists of dicts given as arguments are flattened one level.
fn combine(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::keywords("combine", &["recursive", "list_merge"], kwargs).map_err(|_| {
        fail(
            "combine",
            "'recursive' and 'list_merge' are the only valid keyword arguments",
        )
    })?;
    let recursive = p.flag("recursive", false);
    let list_merge = ListMerge::parse(&p.string("list_merge", "replace")?)?;
    let mut terms = vec![value.clone()];
    terms.extend(args.0);
    for term in &terms {
        ensure_defined(state, term, "combine")?;
    }
    let mut dicts = flatten_items(terms, Some(1), true).into_iter().rev();
    let Some(mut result) = dicts.next() else {
        return Ok(make_map([]));
    };
    for dict in dicts {
        result = merge_hash(&dict, &result, recursive, list_merge)?;
    }
    Ok(result)
}

/// Ansible's `merge_hash`: merges `y` into a copy of `x`, `y` winning.
fn merge_hash(
    x: &Value,
    y: &Value,
    recursive: bool,
    list_merge: ListMerge,
) -> Result<Value, Error> {
    if x.kind() != ValueKind::Map || y.kind() != ValueKind::Map {
        return Err(fail(
            "combine",
            format!(
                "failed to combine variables, expected dicts but got a '{}' and a '{}'",
                type_name(x),
                type_name(y)
            ),
        ));
    }
    if x.len() == Some(0) || x == y {
        return Ok(y.clone());
    }
    if y.len() == Some(0) {
        return Ok(x.clone());
    }
    let mut out: IndexMap<Value, Value> = map_pairs(x).into_iter().collect();
    for (key, y_value) in map_pairs(y) {
        let merged = match out.get(&key) {
            Some(x_value)
                if x_value.kind() == ValueKind::Map && y_value.kind() == ValueKind::Map =>
            {
                if recursive {
                    merge_hash(x_value, &y_value, recursive, list_merge)?
                } else {
                    y_value
                }
            }
            Some(x_value) if is_sequence(x_value) && is_sequence(&y_value) => {
                merge_lists(x_value, &y_value, list_merge)?
            }
            _ => y_value,
        };
        out.insert(key, merged);
    }
    Ok(make_map(out))
}

fn merge_lists(x: &Value, y: &Value, mode: ListMerge) -> Result<Value, Error> {
    let xs = list_items(x, "combine")?;
    let ys = list_items(y, "combine")?;
    let x_minus_y = || xs.iter().filter(|v| !ys.contains(v)).cloned();
    Ok(match mode {
        ListMerge::Replace => y.clone(),
        ListMerge::Keep => x.clone(),
        ListMerge::Append => Value::from_iter(xs.iter().chain(&ys).cloned()),
        ListMerge::Prepend => Value::from_iter(ys.iter().chain(&xs).cloned()),
        ListMerge::AppendRp => Value::from_iter(x_minus_y().chain(ys.iter().cloned())),
        ListMerge::PrependRp => Value::from_iter(ys.iter().cloned().chain(x_minus_y())),
    })
}

/// `dict2items(key_name='key', value_name='value')`.
fn dict2items(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("dict2items", &["key_name", "value_name"], args, kwargs)?;
    ensure_defined(state, value, "dict2items")?;
    if value.kind() != ValueKind::Map {
        return Err(fail(
            "dict2items",
            format!(
                "dict2items requires a dictionary, got {} instead.",
                type_name(value)
            ),
        ));
    }
    let key_name = Value::from(p.string("key_name", "key")?);
    let value_name = Value::from(p.string("value_name", "value")?);
    Ok(Value::from_iter(map_pairs(value).into_iter().map(
        |(k, v)| make_map([(key_name.clone(), k), (value_name.clone(), v)]),
    )))
}

/// `items2dict(key_name='key', value_name='value')`.
fn items2dict(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("items2dict", &["key_name", "value_name"], args, kwargs)?;
    ensure_defined(state, value, "items2dict")?;
    if !is_sequence(value) {
        return Err(fail(
            "items2dict",
            format!(
                "items2dict requires a list, got {} instead.",
                type_name(value)
            ),
        ));
    }
    let key_name = p.string("key_name", "key")?;
    let value_name = p.string("value_name", "value")?;
    let mut out = IndexMap::new();
    for item in value.try_iter()? {
        if item.kind() != ValueKind::Map {
            return Err(fail(
                "items2dict",
                format!(
                    "items2dict requires a list of dictionaries, got {} instead.",
                    py_repr(value)
                ),
            ));
        }
        let k = item.get_attr(&key_name).unwrap_or_default();
        let v = item.get_attr(&value_name).unwrap_or_default();
        if k.is_undefined() || v.is_undefined() {
            return Err(fail(
                "items2dict",
                format!(
                    "items2dict requires each dictionary in the list to contain the keys '{key_name}' \
                     and '{value_name}', got {} instead.",
                    py_repr(value)
                ),
            ));
        }
        out.insert(k, v);
    }
    Ok(make_map(out))
}

/// `flatten(levels=None, skip_nulls=True)`: nulls ('None', 'null' strings
/// included) are dropped while flattening.
fn flatten(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("flatten", &["levels", "skip_nulls"], args, kwargs)?;
    ensure_defined(state, value, "flatten")?;
    let items = iter_items(value, "flatten")?;
    let levels = p.int("levels")?;
    Ok(Value::from(flatten_items(
        items,
        levels,
        p.flag("skip_nulls", true),
    )))
}

fn flatten_items(items: Vec<Value>, levels: Option<i64>, skip_nulls: bool) -> Vec<Value> {
    let mut out = Vec::new();
    for item in items {
        let null_like = item.is_none() || matches!(item.as_str(), Some("None" | "null"));
        if skip_nulls && null_like {
            continue;
        }
        if !is_sequence(&item) {
            out.push(item);
            continue;
        }
        let children: Vec<Value> = item.try_iter().map(Iterator::collect).unwrap_or_default();
        match levels {
            None => out.extend(flatten_items(children, None, skip_nulls)),
            Some(l) if l >= 1 => out.extend(flatten_items(children, Some(l - 1), skip_nulls)),
            Some(_) => out.push(item),
        }
    }
    out
}

/// `extract(container, morekeys=None)`: looks the value up in `container`,
/// then each of `morekeys` in turn.
fn extract(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("extract", &["container", "morekeys"], args, kwargs)?;
    ensure_defined(state, value, "extract")?;
    let mut current = p
        .get("container")
        .cloned()
        .ok_or_else(|| fail("extract", "missing argument 'container'"))?;
    let mut keys = vec![value.clone()];
    match p.get("morekeys") {
        None => {}
        Some(more) if more.is_none() => {}
        Some(more) if is_sequence(more) => keys.extend(more.try_iter()?),
        Some(more) => keys.push(more.clone()),
    }
    for key in keys {
        current = current.get_item(&key).unwrap_or_default();
    }
    Ok(current)
}

/// `subelements(path, skip_missing=False)`: pairs each element with every
/// item of the list found at the dotted `path` inside it.
fn subelements(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind(
        "subelements",
        &["subelements", "skip_missing"],
        args,
        kwargs,
    )?;
    ensure_defined(state, value, "subelements")?;
    let elements = match value.kind() {
        ValueKind::Map => map_pairs(value).into_iter().map(|(_, v)| v).collect(),
        _ if is_sequence(value) => value.try_iter()?.collect::<Vec<_>>(),
        _ => {
            return Err(fail(
                "subelements",
                "obj must be a list of dicts or a nested dict",
            ));
        }
    };
    let path: Vec<Value> = match p.get("subelements") {
        Some(s) if s.kind() == ValueKind::String => s
            .as_str()
            .unwrap_or_default()
            .split('.')
            .map(Value::from)
            .collect(),
        Some(s) if is_sequence(s) => s.try_iter()?.collect(),
        other => {
            return Err(fail(
                "subelements",
                format!(
                    "subelements must be a list or a string, got {}",
                    other.map_or("nothing", type_name)
                ),
            ));
        }
    };
    let skip_missing = p.flag("skip_missing", false);
    let mut out = Vec::new();
    for element in elements {
        let Some(values) = lookup_path(&element, &path, skip_missing)? else {
            continue;
        };
        for v in values.try_iter()? {
            out.push(Value::from(vec![element.clone(), v]));
        }
    }
    Ok(Value::from(out))
}

/// Follows `path` inside `element`; `None` means a skipped missing key.
fn lookup_path(
    element: &Value,
    path: &[Value],
    skip_missing: bool,
) -> Result<Option<Value>, Error> {
    let mut current = element.clone();
    for key in path {
        if current.kind() != ValueKind::Map {
            return Err(fail(
                "subelements",
                format!(
                    "the key {} should point to a dictionary, got {}",
                    py_repr(key),
                    py_repr(&current)
                ),
            ));
        }
        let next = current.get_item(key).unwrap_or_default();
        if next.is_undefined() {
            if skip_missing {
                return Ok(None);
            }
            return Err(fail(
                "subelements",
                format!(
                    "could not find {} key in iterated item {}",
                    py_repr(key),
                    py_repr(&current)
                ),
            ));
        }
        current = next;
    }
    if !is_sequence(&current) {
        let last = path.last().map_or_else(String::new, py_repr);
        return Err(fail(
            "subelements",
            format!(
                "the key {last} should point to a list, got {}",
                py_repr(&current)
            ),
        ));
    }
    Ok(Some(current))
}

fn iterables(
    state: &State,
    value: &Value,
    others: Vec<Value>,
    name: &str,
) -> Result<Vec<Vec<Value>>, Error> {
    let mut lists = Vec::with_capacity(others.len() + 1);
    for v in std::iter::once(value).chain(&others) {
        ensure_defined(state, v, name)?;
        lists.push(iter_items(v, name)?);
    }
    Ok(lists)
}

/// Python's `zip`: a list of lists, as long as the shortest input.
fn zip(state: &State, value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    let lists = iterables(state, value, args.0, "zip")?;
    let len = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from_iter((0..len).map(|i| {
        Value::from_iter(lists.iter().map(|l| l[i].clone()))
    })))
}

/// Python's `itertools.zip_longest(fillvalue=None)`.
fn zip_longest(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::keywords("zip_longest", &["fillvalue"], kwargs)?;
    let fill = p.get("fillvalue").cloned().unwrap_or(Value::from(()));
    let lists = iterables(state, value, args.0, "zip_longest")?;
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(Value::from_iter((0..len).map(|i| {
        Value::from_iter(
            lists
                .iter()
                .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone())),
        )
    })))
}

/// Python's `itertools.product(*iterables, repeat=1)` as a list of lists.
fn product(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::keywords("product", &["repeat"], kwargs)?;
    let repeat = p.int("repeat")?.unwrap_or(1);
    let repeat = usize::try_from(repeat)
        .map_err(|_| fail("product", "repeat argument cannot be negative"))?;
    let lists = iterables(state, value, args.0, "product")?;
    let pools: Vec<&Vec<Value>> = (0..repeat).flat_map(|_| lists.iter()).collect();
    let mut combos: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in pools {
        combos = combos
            .iter()
            .flat_map(|prefix| {
                pool.iter().map(move |item| {
                    let mut next = prefix.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    Ok(Value::from_iter(combos.into_iter().map(Value::from)))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn combine_is_shallow_by_default() {
        let ctx = json!({"a": {"x": {"p": 1}, "k": 1}, "b": {"x": {"q": 2}, "n": 2}});
        assert_eq!(
            eval("a|combine(b)|tojson", ctx.clone()),
            r#"{"x":{"q":2},"k":1,"n":2}"#
        );
        assert_eq!(
            eval("a|combine(b, recursive=true)|tojson", ctx),
            r#"{"x":{"p":1,"q":2},"k":1,"n":2}"#
        );
    }

    #[test]
    fn combine_list_merge_modes() {
        // Ansible: list_merge applies to lists found under the same key.
        let ctx = json!({"a": {"l": [1, 2]}, "b": {"l": [2, 3]}});
        let run = |mode: &str| {
            eval(
                &format!("a|combine(b, list_merge='{mode}')|tojson"),
                ctx.clone(),
            )
        };
        assert_eq!(run("replace"), r#"{"l":[2,3]}"#);
        assert_eq!(run("keep"), r#"{"l":[1,2]}"#);
        assert_eq!(run("append"), r#"{"l":[1,2,2,3]}"#);
        assert_eq!(run("prepend"), r#"{"l":[2,3,1,2]}"#);
        assert_eq!(run("append_rp"), r#"{"l":[1,2,3]}"#);
        assert_eq!(run("prepend_rp"), r#"{"l":[2,3,1]}"#);
    }

    #[test]
    fn combine_nested_lists_with_recursion() {
        let ctx = json!({"a": {"d": {"l": [1]}}, "b": {"d": {"l": [2]}}});
        assert_eq!(
            eval(
                "a|combine(b, recursive=true, list_merge='append')|tojson",
                ctx
            ),
            r#"{"d":{"l":[1,2]}}"#
        );
    }

    #[test]
    fn combine_accepts_lists_of_dicts_and_many_args() {
        // Ansible flattens the arguments one level: [d1, d2]|combine works.
        assert_eq!(
            eval("[{'a': 1}, {'b': 2}]|combine|tojson", json!({})),
            r#"{"a":1,"b":2}"#
        );
        assert_eq!(
            eval("{'a': 1}|combine({'a': 2}, {'c': 3})|tojson", json!({})),
            r#"{"a":2,"c":3}"#
        );
        assert!(eval_err("{'a': 1}|combine([1])", json!({})).contains("expected dicts"));
        assert!(eval_err("{}|combine({}, bogus=1)", json!({})).contains("only valid keyword"));
        assert!(eval_err("{}|combine({}, list_merge='x')", json!({})).contains("list_merge"));
    }

    #[test]
    fn dict2items_and_back() {
        let ctx = json!({"d": {"b": 1, "a": 2}});
        assert_eq!(
            eval("d|dict2items|tojson", ctx.clone()),
            r#"[{"key":"b","value":1},{"key":"a","value":2}]"#
        );
        assert_eq!(
            eval(
                "d|dict2items(key_name='k', value_name='v')|items2dict(key_name='k', value_name='v')|tojson",
                ctx
            ),
            r#"{"b":1,"a":2}"#
        );
        assert!(eval_err("[1]|dict2items", json!({})).contains("requires a dictionary"));
        assert!(eval_err("[{'key': 1}]|items2dict", json!({})).contains("contain the keys"));
    }

    #[test]
    fn flatten_drops_nulls_and_respects_levels() {
        // Ansible skips None and the strings 'None' / 'null' by default.
        assert_eq!(
            eval("[1, [2, [3, none]], 'null']|flatten|tojson", json!({})),
            "[1,2,3]"
        );
        assert_eq!(
            eval("[1, [2, [3]]]|flatten(1)|tojson", json!({})),
            "[1,2,[3]]"
        );
        assert_eq!(
            eval("[1, none]|flatten(skip_nulls=false)|tojson", json!({})),
            "[1,null]"
        );
    }

    #[test]
    fn extract_follows_keys() {
        let ctx = json!({"h": {"a": {"ip": "1.1.1.1"}, "b": {"ip": "2.2.2.2"}}});
        assert_eq!(
            eval("['a', 'b']|map('extract', h, 'ip')|join(',')", ctx.clone()),
            "1.1.1.1,2.2.2.2"
        );
        assert_eq!(
            eval("[1, 0]|map('extract', ['x', 'y'])|join(',')", ctx),
            "y,x"
        );
    }

    #[test]
    fn subelements_pairs_items() {
        let ctx = json!({"users": [
            {"name": "a", "groups": ["g1", "g2"]},
            {"name": "b"}
        ]});
        assert_eq!(
            eval(
                "users|subelements('groups', skip_missing=true)|map('last')|join(',')",
                ctx.clone()
            ),
            "g1,g2"
        );
        assert!(eval_err("users|subelements('groups')", ctx).contains("could not find 'groups'"));
    }

    #[test]
    fn zip_family_returns_lists() {
        assert_eq!(
            eval("[1, 2, 3]|zip(['a', 'b'])|tojson", json!({})),
            r#"[[1,"a"],[2,"b"]]"#
        );
        assert_eq!(
            eval("[1]|zip_longest(['a', 'b'], fillvalue=0)|tojson", json!({})),
            r#"[[1,"a"],[0,"b"]]"#
        );
        assert_eq!(
            eval("[1, 2]|product(['a'])|tojson", json!({})),
            r#"[[1,"a"],[2,"a"]]"#
        );
    }
}
