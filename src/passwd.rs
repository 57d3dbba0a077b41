//! Users of the control node by name, as Python's `pwd` and `getpass` give them to
//! Ansible (`template_uid`, the local connection's user).

/// The name `/etc/passwd` gives `uid`, if it has one.
pub fn name_of(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse() == Ok(uid)).then(|| name.to_string())
    })
}

/// The user running bosun as `getpass.getuser` names it: `LOGNAME`, `USER`, `LNAME`
/// or `USERNAME`, else the password file's name for the real uid, else the number.
pub fn login_name() -> String {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|name| !name.is_empty()))
        .unwrap_or_else(|| {
            // SAFETY: getuid(2) cannot fail and touches no memory.
            let uid = unsafe { libc::getuid() };
            name_of(uid).unwrap_or_else(|| uid.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_named_and_unknown_ids_are_not() {
        assert_eq!(name_of(0).as_deref(), Some("root"));
        assert_eq!(name_of(4_000_000_000), None);
    }
}
