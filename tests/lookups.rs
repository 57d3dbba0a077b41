//! Lookups, `with_<lookup>` loops and the filters and tests around them, run by the
//! real binary on small playbooks (each checked against ansible-playbook 2.19).

mod common;

use common::{Scratch, recap_line, stderr, stdout};

fn run(scratch: &Scratch, playbook: &str) -> (i32, String) {
    let output = scratch.bosun(&["run", playbook, "-i", "localhost,", "-c", "local"]);
    let text = format!("{}\n{}", stdout(&output), stderr(&output));
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn first_found_searches_the_role_and_with_first_found_the_actions_subdir() {
    let scratch = Scratch::new();
    scratch.write(
        "roles/r/tasks/default.yml",
        "- copy: {dest: '{{ lookup(\"env\", \"TARGET\") }}/included', content: x}\n",
    );
    scratch.write("roles/r/vars/extra.yml", "from_vars: 42\n");
    scratch.write("roles/r/files/plain.txt", "plain\n");
    scratch.write(
        "roles/r/tasks/main.yml",
        r#"
- include_tasks: "{{ lookup('first_found', files) }}"
  vars:
    files: ["{{ ansible_os_family | default('nope') | lower }}.yml", default.yml]
- include_vars: "{{ item }}"
  with_first_found: [missing.yml, extra.yml]
- copy:
    dest: "{{ lookup('env', 'TARGET') }}/found"
    content: "{{ from_vars }} {{ lookup('first_found', {'files': ['nope', 'default.yml'], 'paths': ['tasks']}) | basename }} {{ q('first_found', 'nope', skip=True) | length }} {{ lookup('file', 'plain.txt') }}"
- debug: msg="{{ item }}"
  with_first_found: [{files: [nope], skip: true}]
"#,
    );
    scratch.write(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  roles: [r]\n",
    );
    let (code, out) = run(&scratch, "site.yml");
    assert_eq!(code, 0, "{out}");
    assert!(scratch.path().join("included").is_file(), "{out}");
    let found = std::fs::read_to_string(scratch.path().join("found")).expect("written");
    assert_eq!(found, "42 default.yml 0 plain");
    // (Ansible also counts the include_tasks as ok: ok=4; that count is the
    // executor's.) The loop over nothing found with skip is skipped.
    let recap = recap_line(&out, "localhost");
    assert!(recap.contains("failed=0    skipped=1"), "{recap}");
}

#[test]
fn with_lookup_loops_give_ansibles_items() {
    let scratch = Scratch::new();
    scratch.write("data.ini", "[s]\nvalue1=one\nvalue2=two\nother=x\n");
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  vars:
    users: {alice: {uid: 1}, bob: {uid: 2}}
    people:
      - {name: a, groups: [g1, g2]}
      - {name: b}
  tasks:
    - debug: msg="{{ item }}"
      with_sequence: start=1 end=5 stride=2 format=n%02d
      register: seq
    - debug: msg="{{ item.0 ~ item.1 }}"
      with_together: [[1, 2, 3], [a, b]]
      register: pairs
    - debug: msg="{{ item | join }}"
      with_nested: [[x, y], [1, 2]]
      register: nest
    - debug: msg="{{ item.0.name ~ item.1 }}"
      with_subelements: [ "{{ people }}", groups, {skip_missing: true} ]
      register: subs
    - debug: msg="{{ item }}"
      with_lines: printf 'l1\nl2\n'
      register: lines
    - debug: msg="{{ item }}"
      with_ini: value[1-2] section=s file=data.ini re=true
      register: ini
    - debug: msg="{{ item | basename }}"
      with_fileglob: "*.ini"
      register: globbed
    - debug: msg="{{ item }}"
      with_random_choice: [only]
      register: picked
    - debug: msg="{{ item.0 ~ item.1 }}"
      with_indexed_items: [a, b]
      register: indexed
    - copy:
        dest: "{{ lookup('env', 'TARGET') }}/out"
        content: "{{ [seq.results | map(attribute='msg') | list,
          pairs.results | map(attribute='msg') | list,
          nest.results | map(attribute='msg') | list,
          subs.results | map(attribute='msg') | list,
          lines.results | map(attribute='msg') | list,
          ini.results | map(attribute='msg') | list,
          globbed.results | map(attribute='msg') | list,
          picked.results | map(attribute='msg') | list,
          indexed.results | map(attribute='msg') | list,
          lookup('dict', users) | map(attribute='key') | list,
          q('inventory_hostnames', 'all'), lookup('varnames', '^peop')] | to_json }}"
"#,
    );
    let (code, out) = run(&scratch, "site.yml");
    assert_eq!(code, 0, "{out}");
    let written = std::fs::read_to_string(scratch.path().join("out")).expect("written");
    let value: serde_json::Value = serde_json::from_str(&written).expect("json");
    assert_eq!(
        value,
        serde_json::json!([
            ["n01", "n03", "n05"],
            ["1a", "2b", "3None"],
            ["x1", "x2", "y1", "y2"],
            ["ag1", "ag2"],
            ["l1", "l2"],
            ["one", "two"],
            ["data.ini"],
            ["only"],
            ["0a", "1b"],
            ["alice", "bob"],
            ["localhost"],
            "people"
        ])
    );
}

#[test]
fn lookup_failures_follow_errors_and_unknown_names_fail_when_run() {
    let scratch = Scratch::new();
    scratch.write(
        "site.yml",
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - debug: msg="{{ lookup('file', 'missing', errors='ignore') is none }}"
    - debug: msg="{{ lookup('nosuch', 'x') }}"
      ignore_errors: true
      register: unknown
    - debug: msg="{{ item }}"
      with_sequence: start=0 junk=3
      ignore_errors: true
      register: junk
    - assert:
        that:
          - "\"The lookup plugin 'nosuch' was not found.\" in unknown.msg"
          - "'unrecognized arguments to with_sequence' in junk.msg"
          - "'a%20b+c' | urldecode == 'a b c'"
          - "'http://u:p@h.example:8080/x?q#f' | urlsplit('port') == 8080"
          - "100 | random(seed='foo') == 58"
          - "'foo bar' | shuffle(seed='foo') == ['o', 'f', 'r', 'b', 'o', 'a', ' ']"
          - "{'timedout': {'period': 3}} is timedout"
          - "'urn:isbn:1' is urn and 'https://x' is url and '/p' is not url"
          - "lookup('env', 'BOSUN_SURELY_UNSET', default=undef()) is undefined"
"#,
    );
    let (code, out) = run(&scratch, "site.yml");
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        recap_line(&out, "localhost"),
        "localhost                  : ok=4    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=2   "
    );
    // A with_<name> that Ansible has no lookup for is refused before running.
    scratch.write(
        "typo.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=x\n      with_nosuchlookup: [1]\n",
    );
    let (code, out) = run(&scratch, "typo.yml");
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("couldn't resolve module/action 'with_nosuchlookup'"),
        "{out}"
    );
}

#[test]
fn password_lookup_encrypts_with_a_salt_kept_in_the_file_as_ansible_does() {
    let scratch = Scratch::new();
    scratch.write("known", "pw salt=abcdefgh\n");
    scratch.write(
        "p.yml",
        r#"- hosts: localhost
  gather_facts: false
  tasks:
    - copy:
        dest: "{{ playbook_dir }}/hashes"
        content: "{{ lookup('password', playbook_dir + '/known encrypt=sha512_crypt') }}
          {{ lookup('password', playbook_dir + '/new encrypt=sha256_crypt length=8') }}
          {{ lookup('password', playbook_dir + '/new') }}"
"#,
    );
    let (code, text) = run(&scratch, "p.yml");
    assert_eq!(code, 0, "{text}");
    let hashes = scratch.read("hashes");
    let words: Vec<&str> = hashes.split_whitespace().collect();
    assert_eq!(
        words[0],
        "$6$rounds=656000$abcdefgh$pLncf7ljI4rnlGRtlaRLIaBXT8hoDhe5j.p3YfqrEPrlrDTn7qRk9ssGh4MFgYzW30TNcYrpyeSWhww63/Kel0",
        "passlib's hash of the stored password with the stored salt"
    );
    let new = scratch.read("new");
    let (password, salt) = new
        .trim_end()
        .split_once(" salt=")
        .expect("a salt was kept");
    assert_eq!((password.len(), salt.len()), (8, 16), "{new}");
    assert!(
        words[1].starts_with(&format!("$5$rounds=535000${salt}$")),
        "{hashes}"
    );
    assert_eq!(words[2], password, "the plain password without the salt");
}
