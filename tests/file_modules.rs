//! copy, template and file in local mode: bytes and modes on disk, idempotence,
//! check mode, diff mode, validate and backup.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Scratch, recap_line, stdout};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o7777
}

/// This process's umask (which bosun, run from here, inherits).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .and_then(|value| u32::from_str_radix(value.trim(), 8).ok())
        .expect("a Umask: line")
}

/// Every path under `root` with its type, mode and content, to compare trees.
fn listing(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if !root.exists() {
        return out;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("stat");
            let content = if meta.is_file() {
                std::fs::read(&path).unwrap_or_default()
            } else {
                Vec::new()
            };
            out.push(format!(
                "{} {:o} {:?}",
                path.display(),
                meta.permissions().mode(),
                content
            ));
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn converge_writes_the_right_bytes_and_modes_then_changes_nothing() {
    let scratch = Scratch::new();
    scratch.copy_fixture("files");
    let output = scratch.bosun(&["run", "files/converge.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let root = scratch.path().join("root");
    let app = root.join("etc/app");
    assert_eq!(mode(&app), 0o750);
    assert_eq!(
        std::fs::read_to_string(app.join("settings")).expect("settings"),
        "key=value\n"
    );
    assert_eq!(mode(&app.join("settings")), 0o640, "symbolic u=rw,g=r,o=");
    assert_eq!(
        std::fs::read_to_string(app.join("static.txt")).expect("static"),
        "static bytes\n"
    );
    assert_eq!(mode(&app.join("static.txt")), 0o644, "YAML 0644 is octal");
    assert_eq!(
        std::fs::read_to_string(root.join("tree/sub/two.txt")).expect("tree"),
        "two\n"
    );
    assert_eq!(
        mode(&root.join("tree/sub/two.txt")),
        0o666 & !umask(),
        "a new file with no mode asked for gets what the umask gives"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("flat/one.txt")).expect("flat"),
        "one\n"
    );
    assert_eq!(
        std::fs::read_to_string(app.join("app.conf")).expect("template"),
        "# Ansible managed\nserver alpha:8000;\nserver beta:8001;\ntls on;\nname = DEMO\n"
    );
    assert_eq!(mode(&app.join("app.conf")), 0o640);
    assert_eq!(
        std::fs::read_link(root.join("current.conf")).expect("symlink"),
        app.join("app.conf")
    );
    assert!(
        root.join("handler-saw-change").exists(),
        "the template change notified the handler"
    );
    let leftovers: Vec<_> = listing(&root)
        .into_iter()
        .filter(|l| l.contains(".bosun."))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files are left: {leftovers:?}"
    );

    let second = scratch.bosun(&["run", "files/converge.yml"]);
    let out = stdout(&second);
    assert!(
        recap_line(&out, "localhost").contains("changed=0 "),
        "{out}"
    );
}

#[test]
fn check_mode_reports_changes_and_touches_nothing() {
    let scratch = Scratch::new();
    scratch.copy_fixture("files");
    let before = listing(scratch.path());
    let checked = scratch.bosun(&["run", "files/converge.yml", "-C"]);
    let checked_out = stdout(&checked);
    assert_eq!(checked.status.code(), Some(0), "{checked_out}");
    assert_eq!(
        listing(scratch.path()),
        before,
        "check mode left the target untouched"
    );

    let real = scratch.bosun(&["run", "files/converge.yml"]);
    let real_out = stdout(&real);
    let changed = |text: &str| {
        recap_line(text, "localhost")
            .split_whitespace()
            .find(|w| w.starts_with("changed="))
            .map(str::to_string)
    };
    assert_eq!(
        changed(&checked_out),
        changed(&real_out),
        "check mode predicts the real run"
    );
}

#[test]
fn diff_mode_shows_content_changes() {
    let scratch = Scratch::new();
    scratch.copy_fixture("files");
    let output = scratch.bosun(&["run", "files/converge.yml", "-D"]);
    let out = stdout(&output);
    let conf = scratch.path().join("root/etc/app/app.conf");
    assert!(
        out.contains(&format!(
            "--- before: {}\n+++ after: {}\n",
            conf.display(),
            conf.display()
        )),
        "{out}"
    );
    assert!(out.contains("+server alpha:8000;"), "{out}");
}

#[test]
fn failing_validate_keeps_the_old_file_and_backup_keeps_a_copy() {
    let scratch = Scratch::new();
    scratch.copy_fixture("files");
    let guarded = scratch.write("guarded.conf", "old valid content\n");
    let output = scratch.bosun(&["run", "files/validate.yml"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(out.contains("failed to validate"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&guarded).expect("kept"),
        "old valid content\n"
    );
    let names: Vec<String> = std::fs::read_dir(scratch.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains(".bosun.") || n.ends_with('~')),
        "{names:?}"
    );

    let output = scratch.bosun(&["run", "files/backup.yml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        std::fs::read_to_string(&guarded).expect("new"),
        "valid new content\n"
    );
    let backups: Vec<String> = std::fs::read_dir(scratch.path())
        .expect("ls")
        .map(|e| e.expect("entry").path().display().to_string())
        .filter(|n| n.ends_with('~'))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(
        std::fs::read_to_string(&backups[0]).expect("backup"),
        "old valid content\n"
    );
}

#[test]
fn a_loop_asks_for_all_its_destinations_at_once_and_sees_its_own_writes() {
    let scratch = Scratch::new();
    let root = scratch.path();
    scratch.write("item.j2", "item {{ item }} of {{ total }}\n");
    scratch.write(
        "many.yml",
        "- hosts: localhost
  gather_facts: false
  vars: {dir: \"{{ lookup('env', 'TARGET') }}/out\", total: 30}
  tasks:
    - file: path={{ dir }} state=directory
    - template: src=item.j2 dest={{ dir }}/{{ item }}.conf mode=0640
      loop: \"{{ range(1, total + 1) | list }}\"
",
    );
    let counted = [("BOSUN_ROUND_TRIPS", Path::new("1"))];
    let first = scratch.bosun_with(&["run", "many.yml"], &counted);
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    for i in 1..=30 {
        let file = root.join(format!("out/{i}.conf"));
        assert_eq!(
            std::fs::read_to_string(&file).expect("rendered"),
            format!("item {i} of 30\n")
        );
        assert_eq!(mode(&file), 0o640);
    }
    std::fs::write(root.join("out/7.conf"), "edited by hand\n").expect("edit");
    let second = scratch.bosun_with(&["run", "many.yml"], &counted);
    let out = stdout(&second);
    assert!(
        recap_line(&out, "localhost").contains("changed=1 "),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("out/7.conf")).expect("restored"),
        "item 7 of 30\n"
    );
    let third = scratch.bosun_with(&["run", "many.yml"], &counted);
    let out = stdout(&third);
    assert!(
        recap_line(&out, "localhost").contains("changed=0 "),
        "{out}"
    );
    // The directory task's query, then one for all 30 items.
    let err = common::stderr(&third);
    assert!(err.contains("bosun: 2 round trips to targets"), "{err}");

    // Items that write the same file under another name: what the loop asked for ahead
    // must not hide the earlier item's write, even where changed_when hides the change.
    std::fs::create_dir(root.join("real")).expect("mkdir");
    std::os::unix::fs::symlink(root.join("real"), root.join("alias")).expect("symlink");
    std::fs::write(root.join("real/shared"), "B\n").expect("write");
    std::fs::set_permissions(root.join("real/shared"), PermissionsExt::from_mode(0o600))
        .expect("chmod");
    std::fs::write(root.join("dup"), "B\n").expect("write");
    scratch.write(
        "aliases.yml",
        "- hosts: localhost
  gather_facts: false
  vars: {t: \"{{ lookup('env', 'TARGET') }}\"}
  tasks:
    - copy: content={{ item.c }} dest={{ item.d }}
      changed_when: false
      loop:
        - {d: \"{{ t }}/real/shared\", c: \"A\\n\"}
        - {d: \"{{ t }}/alias/shared\", c: \"B\\n\"}
        - {d: \"{{ t }}/dup\", c: \"A\\n\"}
        - {d: \"{{ t }}/dup\", c: \"B\\n\"}
",
    );
    let aliases = scratch.bosun(&["run", "aliases.yml"]);
    assert_eq!(aliases.status.code(), Some(0), "{}", stdout(&aliases));
    assert_eq!(
        std::fs::read_to_string(root.join("real/shared")).expect("shared"),
        "B\n",
        "the last item through the symlinked directory wins"
    );
    assert_eq!(
        mode(&root.join("real/shared")),
        0o600,
        "a rewritten file keeps its mode"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("dup")).expect("dup"),
        "B\n",
        "the last item for the same path wins"
    );

    // A loop whose become fails: each item says why, not that the directory is missing.
    scratch.write(
        "refused.yml",
        "- hosts: localhost
  gather_facts: false
  tasks:
    - copy: content=x dest={{ lookup('env', 'TARGET') }}/refused-{{ item }}
      become: true
      become_method: su
      become_user: no-such-user-here
      loop: [a, b]
",
    );
    let refused = scratch.bosun(&["run", "refused.yml"]);
    let out = stdout(&refused);
    assert_eq!(refused.status.code(), Some(2), "{out}");
    assert_eq!(out.matches("no-such-user-here").count(), 2, "{out}");
    assert!(!out.contains("Destination directory"), "{out}");
    assert!(!root.join("refused-a").exists());
}

/// A template with its own delimiters, a value holding a newline, and text left alone.
const DELIMITED_TEMPLATE: &str = "<< greeting >> world
[% if flag %]
    [% for i in items %]
  item <<i>>
    [% endfor %]
[% endif %]
/* a comment */
{{ untouched }} {% raw %}
multi=<<multi>>
  indented [% if flag %]yes[% endif %]
end
";

/// What ansible-playbook 2.19 writes for [`DELIMITED_TEMPLATE`] with every option set
/// (no trim_blocks, lstrip_blocks, `\r\n`, UTF-16): the template's own line ends become
/// `\r\n`, the value's newline stays.
const DELIMITED_ALL_OPTIONS: &str = "\u{feff}héllo world\r\n\r\n\r\n  item 1\r\n\r\n  item 2\r\n\r\n\r\n\r\n{{ untouched }} {% raw %}\r\nmulti=a\nb\r\n  indented yes\r\nend\r\n";

/// What ansible-playbook 2.19 writes for [`DELIMITED_TEMPLATE`] with only the
/// delimiters and Latin-1 (trim_blocks on by default).
const DELIMITED_DEFAULTS: &[u8] =
    b"h\xe9llo world\n      item 1\n      item 2\n    {{ untouched }} {% raw %}\nmulti=a\nb\n  indented yesend\n";

#[test]
fn template_honours_its_delimiters_and_whitespace_options() {
    let scratch = Scratch::new();
    scratch.write("templates/t.j2", DELIMITED_TEMPLATE);
    std::fs::create_dir(scratch.path().join("out")).expect("mkdir");
    scratch.write(
        "template.yml",
        r#"- hosts: localhost
  gather_facts: false
  vars: {greeting: "héllo", flag: true, items: [1, 2], multi: "a\nb", t: "{{ lookup('env', 'TARGET') }}"}
  tasks:
    - template:
        src: t.j2
        dest: "{{ t }}/out/all"
        variable_start_string: "<<"
        variable_end_string: ">>"
        block_start_string: "[%"
        block_end_string: "%]"
        comment_start_string: "/*"
        comment_end_string: "*/"
        trim_blocks: false
        lstrip_blocks: true
        newline_sequence: "\r\n"
        output_encoding: utf-16
    - template:
        src: t.j2
        dest: "{{ t }}/out/defaults"
        variable_start_string: "<<"
        variable_end_string: ">>"
        block_start_string: "[%"
        block_end_string: "%]"
        comment_start_string: "/*"
        comment_end_string: "*/"
        output_encoding: latin-1
"#,
    );
    let first = scratch.bosun(&["run", "template.yml"]);
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    let utf16: Vec<u8> = DELIMITED_ALL_OPTIONS
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let out = scratch.path().join("out");
    assert_eq!(std::fs::read(out.join("all")).expect("all"), utf16);
    assert_eq!(
        std::fs::read(out.join("defaults")).expect("defaults"),
        DELIMITED_DEFAULTS
    );
    let second = scratch.bosun(&["run", "template.yml"]);
    let text = stdout(&second);
    assert!(
        recap_line(&text, "localhost").contains("changed=0 "),
        "{text}"
    );
}

#[test]
fn copy_follows_links_and_decrypts_as_asked() {
    let scratch = Scratch::new();
    let root = scratch.path();
    let out = root.join("out");
    std::fs::create_dir(&out).expect("mkdir");
    for name in ["real1", "real2"] {
        std::fs::write(out.join(name), "old\n").expect("write");
    }
    std::os::unix::fs::symlink("real1", out.join("link1")).expect("symlink");
    std::os::unix::fs::symlink("real2", out.join("link2")).expect("symlink");
    scratch.write("files/tree/sub/real.txt", "real\n");
    std::os::unix::fs::symlink("sub/real.txt", root.join("files/tree/alias.txt")).expect("link");
    std::os::unix::fs::symlink("sub", root.join("files/tree/subalias")).expect("link");
    scratch.write("files/secret.yml", "secret: 42\n");
    scratch.write("pw", "pw\n");
    let sealed = scratch.bosun(&[
        "vault",
        "encrypt",
        "--vault-password-file",
        "pw",
        "files/secret.yml",
    ]);
    assert_eq!(sealed.status.code(), Some(0), "{}", common::stderr(&sealed));
    let vaulted = std::fs::read(root.join("files/secret.yml")).expect("vaulted");
    assert!(vaulted.starts_with(b"$ANSIBLE_VAULT;"));
    scratch.write(
        "copy.yml",
        r#"- hosts: localhost
  gather_facts: false
  vars: {t: "{{ lookup('env', 'TARGET') }}"}
  tasks:
    - copy: {content: "new\n", dest: "{{ t }}/out/link1"}
    - copy: {content: "new\n", dest: "{{ t }}/out/link2", follow: true}
    - copy: {src: tree/, dest: "{{ t }}/out/followed/"}
    - copy: {src: tree/, dest: "{{ t }}/out/kept/", local_follow: false}
    - copy: {src: secret.yml, dest: "{{ t }}/out/plain.yml"}
    - copy: {src: secret.yml, dest: "{{ t }}/out/sealed.yml", decrypt: false}
"#,
    );
    let run = || scratch.bosun(&["run", "--vault-password-file", "pw", "copy.yml"]);
    let first = run();
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    let read = |name: &str| std::fs::read_to_string(out.join(name)).expect(name);
    let is_link = |name: &str| {
        std::fs::symlink_metadata(out.join(name))
            .expect(name)
            .file_type()
            .is_symlink()
    };
    assert!(!is_link("link1"), "without follow the link is replaced");
    assert_eq!(
        (read("link1"), read("real1")),
        ("new\n".into(), "old\n".into())
    );
    assert!(is_link("link2"), "with follow the link stays");
    assert_eq!(read("real2"), "new\n", "and its target is written");
    assert!(!is_link("followed/alias.txt") && !is_link("followed/subalias"));
    assert_eq!(read("followed/alias.txt"), "real\n");
    assert_eq!(read("followed/subalias/real.txt"), "real\n");
    let link = |name: &str| std::fs::read_link(out.join(name)).expect(name);
    assert_eq!(link("kept/alias.txt"), Path::new("sub/real.txt"));
    assert_eq!(link("kept/subalias"), Path::new("sub"));
    assert_eq!(read("kept/sub/real.txt"), "real\n");
    assert_eq!(read("plain.yml"), "secret: 42\n");
    assert_eq!(
        std::fs::read(out.join("sealed.yml")).expect("sealed"),
        vaulted
    );

    let second = run();
    let text = stdout(&second);
    assert!(
        recap_line(&text, "localhost").contains("changed=0 "),
        "{text}"
    );
}

/// The `lsattr` flags a file in `dir` has with `d` (no dump) added, in lsattr's order
/// (`de` on ext4, whose files carry `e`); `None` where the file system has no flags.
fn flags_with_nodump(dir: &Path) -> Option<String> {
    let probe = dir.join("flags-probe");
    std::fs::write(&probe, "x").ok()?;
    let set = std::process::Command::new("chattr")
        .args(["+d", "--"])
        .arg(&probe)
        .status()
        .ok()?;
    let flags = lsattr(&probe);
    std::fs::remove_file(&probe).ok()?;
    flags.filter(|f| set.success() && f.contains('d'))
}

/// `lsattr`'s flags of `path`, dashes dropped.
fn lsattr(path: &Path) -> Option<String> {
    let out = std::process::Command::new("lsattr")
        .arg("-d")
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let flags = text.split_whitespace().next()?;
    out.status.success().then(|| flags.replace('-', ""))
}

/// Serves `body` to every request on a port of 127.0.0.1, for `get_url`.
fn serve(body: &'static [u8]) -> u16 {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        }
    });
    port
}

#[test]
fn attribute_only_changes_set_chattr_flags_then_change_nothing() {
    let scratch = Scratch::new();
    let Some(flags) = flags_with_nodump(scratch.path()) else {
        eprintln!("skipped: no chattr flags on this file system");
        return;
    };
    let port = serve(b"downloaded\n");
    scratch.write("t.j2", "templated {{ 1 + 1 }}\n");
    scratch.write("arc/a.txt", "unpacked\n");
    let tar = std::process::Command::new("tar")
        .arg("-cf")
        .arg(scratch.path().join("a.tar"))
        .arg("-C")
        .arg(scratch.path().join("arc"))
        .arg("a.txt")
        .status()
        .expect("tar runs");
    assert!(tar.success());
    std::fs::create_dir_all(scratch.path().join("out/u")).expect("out/u");
    // sha1 of "downloaded\n"
    let playbook = format!(
        r#"- hosts: localhost
  gather_facts: false
  vars:
    o: "{{{{ lookup('env', 'TARGET') }}}}/out"
  tasks:
    - copy: content="copied\n" dest={{{{ o }}}}/c.txt attributes={{{{ flags | default(omit) }}}}
    - template: src=t.j2 dest={{{{ o }}}}/t.txt attributes={{{{ flags | default(omit) }}}}
    - get_url:
        url: http://127.0.0.1:{port}/g.txt
        dest: "{{{{ o }}}}/g.txt"
        checksum: sha1:515cd1236417007a03c59d97407a977045eb6cd0
        attributes: "{{{{ flags | default(omit) }}}}"
    - unarchive:
        src: a.tar
        dest: "{{{{ o }}}}/u"
        attributes: "{{{{ flags | default(omit) }}}}"
"#
    );
    scratch.write("attrs.yml", &playbook);
    let files = ["out/c.txt", "out/t.txt", "out/g.txt", "out/u/a.txt"];
    let changed = |extra: &[&str]| {
        let mut args = vec!["run", "attrs.yml"];
        args.extend_from_slice(extra);
        let run = scratch.bosun(&args);
        let out = stdout(&run);
        assert_eq!(run.status.code(), Some(0), "{out}");
        let recap = recap_line(&out, "localhost");
        recap
            .split_whitespace()
            .find_map(|w| w.strip_prefix("changed="))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("no changed= in {out}"))
    };
    assert_eq!(changed(&[]), 4, "the files are written without flags");
    for file in files {
        let now = lsattr(&scratch.path().join(file)).expect("lsattr");
        assert!(!now.contains('d'), "{file}: {now}");
    }
    let with_flags = format!("flags={flags}");
    // Ansible's unarchive does not look at attributes in check mode.
    assert_eq!(changed(&["--check", "-e", &with_flags]), 3);
    assert_eq!(changed(&["-e", &with_flags]), 4, "only the flags change");
    for file in files {
        let now = lsattr(&scratch.path().join(file)).expect("lsattr");
        assert_eq!(now, flags, "{file}");
    }
    assert_eq!(changed(&["-e", &with_flags]), 0, "the flags are there");
    std::fs::remove_file(scratch.path().join("out/g.txt")).expect("remove g.txt");
    assert_eq!(changed(&["-e", &with_flags]), 1, "a new download");
    let now = lsattr(&scratch.path().join("out/g.txt")).expect("lsattr");
    assert_eq!(now, flags, "a download gets the flags too");
    for file in files {
        std::process::Command::new("chattr")
            .args(["-d", "--"])
            .arg(scratch.path().join(file))
            .status()
            .expect("chattr runs");
    }
}

#[test]
fn a_become_user_without_rights_on_the_pipe_still_writes_the_file() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let scratch = Scratch::new();
    let shared = scratch.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: {content: hi, dest: \"{{ playbook_dir }}/shared/by-nobody\", mode: \"0640\"}\n      become: true\n      become_user: nobody\n",
    );
    let args = ["run", "-c", "local", "-i", "localhost,", "site.yml"];
    let first = scratch.bosun(&args);
    let out = common::stdout(&first);
    assert_eq!(first.status.code(), Some(0), "{out}");
    let meta = std::fs::metadata(shared.join("by-nobody")).expect("written");
    assert_eq!(meta.mode() & 0o7777, 0o640);
    assert_eq!(
        std::fs::read_to_string(shared.join("by-nobody")).expect("read"),
        "hi"
    );
    let nobody = std::process::Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .expect("id");
    let uid: u32 = String::from_utf8_lossy(&nobody.stdout)
        .trim()
        .parse()
        .expect("uid");
    assert_eq!(meta.uid(), uid, "written as the become user");
    let second = scratch.bosun(&args);
    assert!(
        common::stdout(&second).contains("changed=0"),
        "{}",
        common::stdout(&second)
    );
}

#[test]
fn a_destination_under_tilde_is_the_become_users_home() {
    let scratch = Scratch::new();
    let home = Path::new("/home/bosun-become");
    let name = format!("bosun-tilde-{}", std::process::id());
    scratch.write(
        "home.yml",
        &format!(
            "- hosts: localhost
  gather_facts: false
  tasks:
    - copy: {{content: \"mine\\n\", dest: \"~/{name}\", mode: \"0640\"}}
      become: true
      become_user: bosun-become
"
        ),
    );
    let first = scratch.bosun(&["run", "home.yml"]);
    let file = home.join(&name);
    let written = std::fs::read_to_string(&file);
    let again = scratch.bosun(&["run", "home.yml"]);
    let _ = std::fs::remove_file(&file);
    assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
    assert_eq!(
        written.expect("written in the become user's home"),
        "mine\n"
    );
    assert!(
        recap_line(&stdout(&again), "localhost").contains("changed=0 "),
        "{}",
        stdout(&again)
    );
}
