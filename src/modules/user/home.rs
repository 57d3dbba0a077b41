//! A missing home made for an existing account, as Ansible's `create_homedir` and
//! `chown_homedir` make it: a copy of the skeleton (symlinks kept) or an empty
//! directory, its mode from `/etc/login.defs`, everything owned by the account.

/// The mode `/etc/login.defs` gives a new home, as a `H<mode>` or `U<umask>` line:
/// the first `HOME_MODE` wins, else the last `UMASK` (its complement), else none.
const LOGIN_DEFS_MODE: &str = r#"awk '/^HOME_MODE[ \t]+[0-9]+$/{print "H" $2; f=1; exit} /^UMASK[ \t]+[0-9]+$/{u=$2} END{if(!f&&u!="")print "U" u}' /etc/login.defs"#;

/// The script making the home of account `user` (quoted) at `home` (a shell word;
/// `None`: the passwd line's) from `skeleton` (quoted; `None`: `/etc/skel`), when it
/// is still missing.
pub fn create_script(user: &str, home: Option<&str>, skeleton: Option<&str>) -> String {
    let home = home.map_or_else(
        || format!("\"$(getent passwd {user} | cut -d: -f6)\""),
        str::to_string,
    );
    let skeleton = skeleton.unwrap_or("/etc/skel");
    format!(
        "h={home}; s={skeleton}; [ -e \"$h\" ] && exit 0
mkdir -p -- \"$(dirname -- \"$h\")\" || exit
if [ -e \"$s\" ] && [ \"$s\" != /dev/null ]; then cp -a -- \"$s\" \"$h\"; else mkdir -- \"$h\"; fi || exit
if [ -e /etc/login.defs ]; then
  m=$({LOGIN_DEFS_MODE})
  case $m in H*) m=${{m#H}};; U*) m=$(printf %o $((0777 & ~0${{m#U}})));; *) m=755;; esac
  chmod \"$m\" \"$h\" || exit
fi
chown -R {user}: \"$h\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs the script against a scratch `login.defs` and returns the new home's mode.
    fn made_mode(login_defs: &str) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let defs = dir.path().join("login.defs");
        std::fs::write(&defs, login_defs).expect("write");
        let skel = dir.path().join("skel");
        std::fs::create_dir(&skel).expect("skel");
        std::fs::write(skel.join(".profile"), "x").expect("profile");
        let home = dir.path().join("a/home");
        let me = Command::new("id").arg("-un").output().expect("id").stdout;
        let me = String::from_utf8_lossy(&me).trim().to_string();
        let script = create_script(
            &me,
            Some(&home.display().to_string()),
            Some(&skel.display().to_string()),
        )
        .replace("/etc/login.defs", &defs.display().to_string());
        let done = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .status()
            .expect("sh");
        assert!(done.success(), "{script}");
        assert!(home.join(".profile").is_file(), "the skeleton is copied");
        std::fs::metadata(&home).expect("home").permissions().mode() & 0o7777
    }

    #[test]
    fn the_mode_follows_login_defs_as_ansible_reads_it() {
        assert_eq!(made_mode("UMASK\t\t022\n#HOME_MODE\t0700\n"), 0o755);
        assert_eq!(made_mode("UMASK 027\nHOME_MODE 0750\nUMASK 077\n"), 0o750);
        assert_eq!(made_mode("UMASK 022\nUMASK 077\n"), 0o700, "the last UMASK");
        assert_eq!(made_mode("# nothing\n"), 0o755);
    }
}
