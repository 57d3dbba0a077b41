//! Ansible's `to_safe_group_name` as plugins apply it (`force=True`): every character
//! that cannot be in a Python identifier becomes `_`, and so does a leading digit.

/// The group name with invalid characters replaced (`"big-ones"` → `"big_ones"`,
/// `"1st"` → `"_st"`), as Ansible's `INVALID_VARIABLE_NAMES` regex
/// `^[\d\W]|[^\w]` replaces them.
pub fn safe_group_name(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(index, c)| {
            let word = c.is_alphanumeric() || c == '_';
            if !word || (index == 0 && c.is_numeric()) {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_what_python_identifiers_cannot_hold() {
        let cases = [
            ("web", "web"),
            ("big-ones", "big_ones"),
            ("role_db-main", "role_db_main"),
            ("1st", "_st"),
            ("a.b c", "a_b_c"),
            ("tag_Name_my web", "tag_Name_my_web"),
            ("_x9", "_x9"),
            ("", ""),
            ("é", "é"),
        ];
        for (name, safe) in cases {
            assert_eq!(safe_group_name(name), safe, "{name}");
        }
    }
}
