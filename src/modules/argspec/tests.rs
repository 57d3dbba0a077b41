//! The validator against what Ansible 2.19.14's `validate_argument_spec` reported for
//! the same specs and arguments.

use super::*;
use serde_json::json;

fn check(spec: Json, params: Json) -> Vec<String> {
    let spec = spec.as_object().cloned().unwrap_or_default();
    let params = params.as_object().cloned().unwrap_or_default();
    validate(&spec, params)
}

#[test]
fn every_kind_of_error_in_ansibles_order_and_words() {
    let errors = check(
        json!({
            "a_int": {"type": "int", "required": true},
            "b_bool": {"type": "bool"},
            "c_choice": {"type": "str", "choices": ["x", "y"]},
            "d_list": {"type": "list", "elements": "int"},
            "e_dict": {
                "type": "dict",
                "options": {
                    "inner": {"type": "int", "required": true},
                    "other": {"type": "str", "aliases": ["o2"]},
                },
                "mutually_exclusive": [["inner", "other"]],
            },
            "f_ldict": {
                "type": "list",
                "elements": "dict",
                "options": {"n": {"type": "str", "required": true}, "m": {"type": "str"}},
                "required_together": [["n", "m"]],
            },
            "g_float": {"type": "float"},
            "from_var": {"type": "int"},
            "h_lchoice": {"type": "list", "choices": ["a", "b"]},
            "i_req_by": {"type": "str"},
            "j_dict": {"type": "dict"},
        }),
        json!({
            "a_int": "4.5",
            "b_bool": "maybe",
            "c_choice": "z",
            "d_list": [1, "x", 3],
            "e_dict": {"inner": 1, "other": "q", "bogus": 2},
            "f_ldict": [{"n": "a"}, {"m": "b", "n": "c", "zz": 1}, 3],
            "g_float": "abc",
            "h_lchoice": ["a", "c", "d"],
            "unknown1": 1,
            "j_dict": "a=1 b=2",
        }),
    );
    let tagged = "ansible.module_utils._internal._datatag";
    assert_eq!(
        errors,
        vec![
            "Value '3' in the sub parameter field 'f_ldict' must be a list, not '_AnsibleTaggedInt'".to_string(),
            "argument 'a_int' is of type str and we were unable to convert to int: \"'4.5'\" cannot be converted to an int".into(),
            "argument 'b_bool' is of type str and we were unable to convert to bool: The value 'maybe' is not a valid boolean. Valid booleans include: 0, 1, 'n', 'f', 't', '0', '1', 'false', 'no', 'true', 'yes', 'y', 'on', 'off'".into(),
            "Elements value for option 'd_list' is of type str and we were unable to convert to int: \"'x'\" cannot be converted to an int".into(),
            format!("Elements value for option 'f_ldict' is of type int and we were unable to convert to dict: <class '{tagged}._AnsibleTaggedInt'> cannot be converted to a dict"),
            format!("argument 'g_float' is of type str and we were unable to convert to float: <class '{tagged}._AnsibleTaggedStr'> cannot be converted to a float"),
            "value of c_choice must be one of: x, y, got: z".into(),
            "value of h_lchoice must be one or more of: a, b. Got no match for: c, d".into(),
            "parameters are mutually exclusive: inner|other found in e_dict".into(),
            "parameters are required together: n, m found in f_ldict".into(),
            "e_dict.bogus, f_ldict.zz, unknown1. Supported parameters include: a_int, b_bool, c_choice, d_list, e_dict, f_ldict, from_var, g_float, h_lchoice, i_req_by, j_dict.".into(),
        ]
    );
}

#[test]
fn valid_arguments_and_defaults_give_no_error() {
    let spec = json!({
        "a_int": {"type": "int", "default": 3},
        "s": {"type": "str"},
        "flag": {"type": "bool", "default": "no"},
        "mode": {"choices": ["yes", "no", "auto"]},
    });
    assert!(check(spec, json!({"s": 5, "mode": "True"})).is_empty());
}

#[test]
fn required_options_are_listed_sorted_even_when_nested() {
    assert_eq!(
        check(
            json!({"b": {"required": true}, "a": {"required": true}, "c": {"type": "bool"}}),
            json!({"c": "yes"}),
        ),
        vec!["missing required arguments: a, b".to_string()]
    );
    assert_eq!(
        check(
            json!({"outer": {"type": "dict", "options": {
                "inner": {"type": "list", "elements": "dict", "options": {"x": {"required": true}}},
            }}}),
            json!({"outer": {"inner": [{"y": 1}]}}),
        ),
        vec![
            "missing required arguments: x found in outer -> inner".to_string(),
            "outer.inner.y. Supported parameters include: x.".to_string(),
        ]
    );
}

#[test]
fn a_spec_both_required_and_defaulted_is_an_internal_error() {
    assert_eq!(
        check(
            json!({"a": {"required": true, "default": 1}}),
            json!({"a": 2})
        ),
        vec!["internal error: required and default are mutually exclusive for a".to_string()]
    );
}

#[test]
fn apply_defaults_checks_an_absent_mapping() {
    assert_eq!(
        check(
            json!({"d": {"type": "dict", "apply_defaults": true, "options": {"x": {"required": true}}}}),
            json!({}),
        ),
        vec!["missing required arguments: x found in d".to_string()]
    );
}
