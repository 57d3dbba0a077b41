//! community.postgresql's `postgresql_db` and `postgresql_user`, and community.mysql's
//! `mysql_db` and `mysql_user`, run by the real binary over SSH against a Debian
//! container (systemd as PID 1) with Debian's PostgreSQL 15 and MariaDB 10.11 installed
//! through the mirrors, checked there with `psql` and `mariadb`: the roles, accounts,
//! databases and privileges the server holds, and logins with the passwords set. The
//! same container has python3 with psycopg2 and PyMySQL, so the real collections
//! (ansible 12.3.0 in `/var/tmp/bosun-bench-venv`, or `BOSUN_BENCH_VENV`) run the same
//! tasks for the comparisons.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, stdout};
use serde_json::Value as Json;

/// The shared container with both servers and the Python libraries Ansible's modules
/// need, installed once.
fn fleet() -> Option<&'static SystemdFleet> {
    static READY: OnceLock<()> = OnceLock::new();
    let fleet = or_skip(SystemdFleet::shared())?;
    READY.get_or_init(|| {
        fleet.apt_install(&[
            "postgresql",
            "mariadb-server",
            "python3",
            "python3-psycopg2",
            "python3-pymysql",
        ]);
    });
    Some(fleet)
}

/// Runs `playbook` and checks it succeeded with `changed` changes.
fn converge(
    fleet: &SystemdFleet,
    name: &str,
    playbook: &str,
    extra: &[&str],
    changed: usize,
) -> String {
    fleet.play_expecting(name, playbook, extra, changed)
}

/// What `sql` prints through psql as postgres on the container (unaligned, no headers).
fn psql(fleet: &SystemdFleet, sql: &str) -> String {
    fleet.on_host(
        0,
        &format!(
            "cd /tmp && printf '%s\\n' {} | runuser -u postgres -- psql -X -q -A -t -F '|'",
            shell_quote(sql)
        ),
    )
}

/// What `sql` prints through the mariadb client as root on the container.
fn mariadb(fleet: &SystemdFleet, sql: &str) -> String {
    fleet.on_host(
        0,
        &format!("printf '%s\\n' {} | mariadb -N -B", shell_quote(sql)),
    )
}

/// `text` single-quoted for the container's shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r#"'"'"'"#))
}

// ---------------------------------------------------------------- PostgreSQL

const PG_USER_AND_DB: &str = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  vars:
    pw: "Fir$t pass'word"
  tasks:
    - community.postgresql.postgresql_user:
        name: "ap'p \"role\""
        password: "{{ pw }}"
        role_attr_flags: CREATEDB,NOSUPERUSER
        conn_limit: 7
      register: user
    - community.postgresql.postgresql_db:
        name: "we\"ird; db"
        owner: "ap'p \"role\""
        encoding: UTF-8
        template: template0
        conn_limit: "{{ limit | default(5) }}"
        comment: "it's ours"
      register: db
    - copy:
        dest: /tmp/pg-results.json
        content: "{{ {'user': user, 'db': db} | to_json }}"
      become_user: root
"#;

/// Whether the role can log in over TCP with `password`.
fn pg_login(fleet: &SystemdFleet, password: &str) -> bool {
    let login = format!(
        "PGPASSWORD={} psql -X -A -t -h 127.0.0.1 -U 'ap'\\''p \"role\"' -d 'we\"ird; db' -c 'SELECT current_user' 2>&1",
        shell_quote(password)
    );
    fleet.on_host(0, &login) == "ap'p \"role\""
}

#[test]
fn postgresql_user_and_db_converge_as_the_postgres_user() {
    let Some(fleet) = fleet() else { return };
    let role = "SELECT rolcanlogin, rolcreatedb, rolsuper, rolconnlimit, rolpassword LIKE 'SCRAM-SHA-256$%' \
                FROM pg_authid WHERE rolname = 'ap''p \"role\"'";
    let database = "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datconnlimit, \
                    shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'we\"ird; db'";

    let out = converge(fleet, "pg.yml", PG_USER_AND_DB, &["--check", "--diff"], 3);
    assert!(!out.contains("Fir$t"), "{out}");
    assert_eq!(psql(fleet, role), "", "check mode made no role");
    assert_eq!(psql(fleet, database), "", "check mode made no database");

    converge(fleet, "pg.yml", PG_USER_AND_DB, &[], 3);
    assert_eq!(psql(fleet, role), "t|t|f|7|t");
    assert_eq!(psql(fleet, database), "ap'p \"role\"|UTF8|5|it's ours");
    assert!(pg_login(fleet, "Fir$t pass'word"), "the password logs in");
    assert!(!pg_login(fleet, "wrong"), "another does not");
    let results: Json =
        serde_json::from_str(&fleet.on_host(0, "cat /tmp/pg-results.json")).expect("json");
    assert_eq!(
        results["user"]["queries"],
        serde_json::json!([
            "CREATE USER \"ap'p \"\"role\"\"\" WITH ENCRYPTED PASSWORD %(password)s CONNECTION LIMIT 7 CREATEDB NOSUPERUSER"
        ])
    );
    assert_eq!(
        results["db"]["executed_commands"],
        serde_json::json!([
            "CREATE DATABASE \"we\"\"ird; db\" OWNER \"ap'p \"\"role\"\"\" TEMPLATE \"template0\" ENCODING 'UTF-8' CONNECTION LIMIT 5",
            "COMMENT ON DATABASE \"we\"\"ird; db\" IS 'it''s ours'"
        ])
    );

    // The stored SCRAM secret matches the password: nothing to change.
    converge(fleet, "pg.yml", PG_USER_AND_DB, &[], 1);
    converge(fleet, "pg.yml", PG_USER_AND_DB, &["--check"], 0);

    // A new password and limit: check mode predicts, the run changes both.
    let secret_before = psql(
        fleet,
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'ap''p \"role\"'",
    );
    let new = ["-e", "pw=N3w-pass", "-e", "limit=9"];
    converge(
        fleet,
        "pg.yml",
        PG_USER_AND_DB,
        &[&["--check"][..], &new].concat(),
        3,
    );
    assert_eq!(
        psql(
            fleet,
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'ap''p \"role\"'"
        ),
        secret_before
    );
    converge(fleet, "pg.yml", PG_USER_AND_DB, &new, 3);
    assert!(pg_login(fleet, "N3w-pass"));
    assert!(!pg_login(fleet, "Fir$t pass'word"));
    assert_eq!(psql(fleet, database), "ap'p \"role\"|UTF8|9|it's ours");
    converge(fleet, "pg.yml", PG_USER_AND_DB, &new, 1);

    let gone = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  vars:
    dropped: "DROP USER \"ap'p \"\"role\"\"\""
  tasks:
    - postgresql_db: {name: "we\"ird; db", state: absent}
    - postgresql_user: {name: "ap'p \"role\"", state: absent}
      register: removed
    - assert: {that: ["removed.user_removed | default(false)", "removed.queries == [dropped]"]}
      when: removed is changed and not ansible_check_mode
"#;
    converge(fleet, "gone.yml", gone, &["--check"], 2);
    assert_eq!(psql(fleet, database), "ap'p \"role\"|UTF8|9|it's ours");
    converge(fleet, "gone.yml", gone, &[], 2);
    assert_eq!(psql(fleet, role), "");
    assert_eq!(psql(fleet, database), "");
    fleet.play_expecting("gone.yml", gone, &[], 0);
}

#[test]
fn postgresql_secrets_stay_off_command_lines_and_out_of_the_output() {
    let Some(fleet) = fleet() else { return };
    let setup = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  tasks:
    - postgresql_user: {name: sec_admin, password: "Login-Pw-4711", role_attr_flags: "CREATEROLE,CREATEDB"}
"#;
    fleet.play_expecting("setup.yml", setup, &[], 1);
    let playbook = r#"
- hosts: all
  gather_facts: false
  tasks:
    - community.postgresql.postgresql_user:
        name: sec_app
        password: "Role-Pw-0815"
        login_host: 127.0.0.1
        login_user: sec_admin
        login_password: "Login-Pw-4711"
        login_db: postgres
    - community.postgresql.postgresql_db:
        name: sec_db
        owner: sec_admin
        login_host: 127.0.0.1
        login_user: sec_admin
        login_password: "Login-Pw-4711"
    - community.postgresql.postgresql_db:
        name: sec_db
        state: dump
        target: /tmp/sec_db.sql
        login_host: 127.0.0.1
        login_user: sec_admin
        login_password: "Login-Pw-4711"
"#;
    let out = converge(fleet, "secret.yml", playbook, &["-vvv"], 3);
    assert!(
        out.contains("EXEC /bin/sh -c"),
        "-vvv shows every command: {out}"
    );
    for secret in ["Login-Pw-4711", "Role-Pw-0815"] {
        assert!(!out.contains(secret), "{secret} shown:\n{out}");
    }
    assert!(
        out.contains("\"login_password\": \"VALUE_SPECIFIED_IN_NO_LOG_PARAMETER\""),
        "{out}"
    );
    assert!(
        fleet
            .on_host(0, "head -c 200 /tmp/sec_db.sql")
            .contains("PostgreSQL database dump")
    );
    let login =
        "PGPASSWORD=Role-Pw-0815 psql -X -A -t -h 127.0.0.1 -U sec_app -d sec_db -c 'SELECT 1'";
    assert_eq!(fleet.on_host(0, login), "1");
}

#[test]
fn postgresql_refuses_bad_arguments_clearly() {
    let Some(fleet) = fleet() else { return };
    let bad_flag = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  tasks:
    - postgresql_user: {name: bad_flags, role_attr_flags: "CREATEDB,SUPERMAN"}
"#;
    fleet.play_fails(
        "flags.yml",
        bad_flag,
        &[],
        "Invalid role_attr_flags specified: SUPERMAN",
    );
    assert_eq!(
        psql(fleet, "SELECT 1 FROM pg_roles WHERE rolname = 'bad_flags'"),
        ""
    );

    let encoding = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  tasks:
    - postgresql_db: {name: enc_db, encoding: UTF-8, template: template0}
    - postgresql_db: {name: enc_db, encoding: LATIN1, template: template0}
"#;
    fleet.play_fails(
        "encoding.yml",
        encoding,
        &[],
        "Changing database encoding is not supported. Current encoding: UTF8",
    );
    let rename = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  tasks:
    - postgresql_db: {name: enc_db, state: rename}
"#;
    fleet.play_fails("rename.yml", rename, &[], "option must be defined when the");
    let state = r#"
- hosts: all
  gather_facts: false
  tasks:
    - postgresql_db: {name: enc_db, state: gone}
"#;
    fleet.play_fails(
        "state.yml",
        state,
        &[],
        "value of state must be one of: absent, dump, present, rename, restore, got: gone",
    );
    let with_password = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  vars:
    ansible_become_password: not-needed-but-given
  tasks:
    - postgresql_db: {name: enc_db}
"#;
    fleet.play_fails(
        "become.yml",
        with_password,
        &[],
        "this module sends its SQL and credentials on standard input, which the become password holds",
    );
    let peer = r#"
- hosts: all
  gather_facts: false
  tasks:
    - postgresql_db: {name: enc_db}
"#;
    fleet.play_fails(
        "peer.yml",
        peer,
        &[],
        "unable to connect to database: connection to server on socket",
    );
}

#[test]
fn postgresql_db_dumps_restores_and_renames() {
    let Some(fleet) = fleet() else { return };
    let playbook = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  tasks:
    - postgresql_db: {name: dump_src, state: absent}
    - postgresql_db: {name: dump_copy, state: absent}
    - postgresql_db: {name: dump_renamed, state: absent}
    - postgresql_db: {name: dump_src}
    - command: psql -d dump_src -c "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"
    - postgresql_db: {name: dump_src, state: dump, target: /tmp/dump_src.sql.gz}
      register: dumped
    - postgresql_db: {name: dump_src, state: dump, target: /tmp/dump_src.pgc}
    - postgresql_db: {name: dump_copy}
    - postgresql_db: {name: dump_copy, state: restore, target: /tmp/dump_src.pgc}
      register: restored
    - postgresql_db: {name: dump_copy, state: rename, target: dump_renamed}
      register: renamed
    - copy:
        dest: /tmp/pg-dump.json
        content: "{{ {'dumped': dumped, 'restored': restored, 'renamed': renamed} | to_json }}"
      become_user: root
"#;
    fleet.play_expecting("dump.yml", playbook, &[], 8);
    assert_eq!(
        fleet.on_host(0, "zcat /tmp/dump_src.sql.gz | grep -c '^kept$'"),
        "1"
    );
    assert_eq!(
        psql(fleet, "\\c dump_renamed\nSELECT v FROM t"),
        "kept",
        "the custom-format dump restored into the copy, renamed"
    );
    let results: Json =
        serde_json::from_str(&fleet.on_host(0, "cat /tmp/pg-dump.json")).expect("json");
    assert_eq!(
        results["restored"]["cmd"],
        "/usr/bin/pg_restore --dbname=dump_copy --port=5432 --username=postgres --format=Custom /tmp/dump_src.pgc"
    );
    assert_eq!(
        results["renamed"]["executed_commands"],
        serde_json::json!(["ALTER DATABASE \"dump_copy\" RENAME TO \"dump_renamed\""])
    );
    assert!(
        results["renamed"]["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("The rename choice of the state option is deprecated"))
    );
}

const PG_PRIVS: &str = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  tasks:
    - postgresql_user: {name: "{{ p }}_reader"}
      tags: setup
    - postgresql_db: {name: "{{ p }}_shop"}
      tags: setup
    - command: psql -d {{ p }}_shop -c "CREATE TABLE IF NOT EXISTS items (v int); CREATE SEQUENCE IF NOT EXISTS ids"
      changed_when: false
      tags: setup
    - community.postgresql.postgresql_privs: {login_db: "{{ p }}_shop", type: database, privs: ALL, roles: "{{ p }}_reader"}
      register: r1
    - postgresql_privs: {login_db: "{{ p }}_shop", objs: ALL_IN_SCHEMA, privs: INSERT, roles: "{{ p }}_reader", grant_option: true}
      register: r2
    - postgresql_privs: {login_db: "{{ p }}_shop", type: sequence, objs: ids, privs: USAGE, roles: "PUBLIC,ghost", fail_on_role: false}
      register: r3
    - postgresql_privs: {login_db: "{{ p }}_shop", objs: items, privs: SELECT, roles: "{{ p }}_reader", state: "{{ revoke | default('present') }}"}
      register: r4
    - copy:
        dest: "/tmp/{{ p }}.json"
        content: "{{ [r1, r2, r3, r4] | to_json }}"
      become_user: root
      changed_when: false
"#;

/// What `sql` prints through psql as postgres in database `db`.
fn psql_in(fleet: &SystemdFleet, db: &str, sql: &str) -> String {
    fleet.on_host(
        0,
        &format!(
            "cd /tmp && runuser -u postgres -- psql -X -q -A -t -F '|' -d {db} -c {}",
            shell_quote(sql)
        ),
    )
}

#[test]
fn postgresql_privs_grants_and_revokes_as_the_server_keeps_them() {
    let Some(fleet) = fleet() else { return };
    let held = "SELECT has_database_privilege('bos_reader', 'bos_shop', 'CREATE'), \
                has_table_privilege('bos_reader', 'items', 'INSERT WITH GRANT OPTION'), \
                has_sequence_privilege('public', 'ids', 'USAGE')";
    let vars = ["-e", "p=bos"];
    converge(
        fleet,
        "privs.yml",
        PG_PRIVS,
        &[&vars[..], &["--tags", "setup"]].concat(),
        2,
    );
    converge(
        fleet,
        "privs.yml",
        PG_PRIVS,
        &[&["--check"][..], &vars].concat(),
        4,
    );
    assert_eq!(
        psql_in(fleet, "bos_shop", held),
        "f|f|f",
        "check mode granted nothing"
    );
    converge(fleet, "privs.yml", PG_PRIVS, &vars, 4);
    assert_eq!(psql_in(fleet, "bos_shop", held), "t|t|t");
    converge(fleet, "privs.yml", PG_PRIVS, &vars, 0);
    let revoke = [&vars[..], &["-e", "revoke=absent"]].concat();
    converge(fleet, "privs.yml", PG_PRIVS, &revoke, 1);
    assert_eq!(
        psql_in(
            fleet,
            "bos_shop",
            "SELECT has_table_privilege('bos_reader', 'items', 'SELECT'), has_table_privilege('bos_reader', 'items', 'INSERT')"
        ),
        "f|t"
    );
    converge(fleet, "privs.yml", PG_PRIVS, &revoke, 0);
    let results: Json = serde_json::from_str(&fleet.on_host(0, "cat /tmp/bos.json")).expect("json");
    assert_eq!(
        results[1]["queries"],
        serde_json::json!([
            "GRANT INSERT ON ALL TABLES IN SCHEMA \"public\" TO \"bos_reader\" WITH GRANT OPTION;"
        ])
    );
    assert_eq!(
        results[2]["warnings"],
        serde_json::json!(["Role 'ghost' does not exist, pass it"])
    );
    assert_eq!(
        results[3]["queries"],
        serde_json::json!(["REVOKE SELECT ON table \"public\".\"items\" FROM \"bos_reader\";"])
    );
}

#[test]
fn postgresql_privs_results_match_community_postgresql() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let Some(fleet) = fleet() else { return };
    let (theirs, ours) = both_results(fleet, &ansible, PG_PRIVS, "pv");
    assert_eq!(theirs.len(), ours.len());
    for (i, (a, b)) in theirs.iter().zip(&ours).enumerate() {
        assert_eq!(a, b, "task {}: Ansible {a}\nbosun {b}", i + 1);
    }
}

// ---------------------------------------------------------------- MariaDB

const MY_DB_AND_USER: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    socket: /run/mysqld/mysqld.sock
    pw: "Pa$$ \"w\\ord"
    privs: "we`ird db.*:ALL/shop's.*:SELECT,INSERT"
  tasks:
    - community.mysql.mysql_db:
        name: ["we`ird db", "shop's"]
        encoding: utf8mb4
        collation: utf8mb4_bin
        login_unix_socket: "{{ socket }}"
    - community.mysql.mysql_user:
        name: "o'neil"
        host: localhost
        password: "{{ pw }}"
        priv: "{{ privs }}"
        column_case_sensitive: true
        login_unix_socket: "{{ socket }}"
      register: user
    - copy: {dest: /tmp/my-user.json, content: "{{ user | to_json }}"}
"#;

/// Whether `o'neil` logs in with `password` (through an option file, so the
/// password is quoted as the client reads it).
fn my_login(fleet: &SystemdFleet, password: &str) -> bool {
    let escaped = password.replace('\\', "\\\\").replace('"', "\\\"");
    let file = format!("[client]\npassword=\"{escaped}\"\n");
    let login = format!(
        "printf '%s' {} > /tmp/o.cnf && mariadb --defaults-file=/tmp/o.cnf -u \"o'neil\" -N -e 'SELECT 1' 2>&1; rm -f /tmp/o.cnf",
        shell_quote(&file)
    );
    fleet.on_host(0, &login) == "1"
}

#[test]
fn mysql_db_and_user_converge_as_root_through_the_socket() {
    let Some(fleet) = fleet() else { return };
    let databases = "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA \
                     WHERE SCHEMA_NAME IN ('we`ird db', 'shop''s') ORDER BY 1";
    let grants = "SHOW GRANTS FOR 'o\\'neil'@'localhost'";
    let account = "SELECT plugin, authentication_string = CONCAT('*', UPPER(SHA1(UNHEX(SHA1('Pa$$ \"w\\\\ord'))))) \
                   FROM mysql.user WHERE User = 'o\\'neil' AND Host = 'localhost'";

    converge(fleet, "my.yml", MY_DB_AND_USER, &["--check"], 3);
    assert_eq!(mariadb(fleet, databases), "");
    assert_eq!(
        mariadb(
            fleet,
            "SELECT COUNT(*) FROM mysql.user WHERE User = 'o\\'neil'"
        ),
        "0"
    );

    converge(fleet, "my.yml", MY_DB_AND_USER, &[], 3);
    assert_eq!(
        mariadb(fleet, databases),
        "shop's\tutf8mb4\tutf8mb4_bin\nwe`ird db\tutf8mb4\tutf8mb4_bin"
    );
    assert_eq!(mariadb(fleet, account), "mysql_native_password\t1");
    assert_eq!(
        mariadb(fleet, grants)
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n"),
        "GRANT ALL PRIVILEGES ON `we``ird db`.* TO `o'neil`@`localhost`\nGRANT SELECT, INSERT ON `shop's`.* TO `o'neil`@`localhost`"
    );
    assert!(my_login(fleet, "Pa$$ \"w\\ord"));
    assert!(!my_login(fleet, "wrong"));
    let user: Json =
        serde_json::from_str(&fleet.on_host(0, "cat /tmp/my-user.json")).expect("json");
    assert_eq!(user["msg"], "User added");
    assert_eq!(user["password_changed"], true);
    assert_eq!(user["user"], "o'neil");

    converge(fleet, "my.yml", MY_DB_AND_USER, &[], 1);

    // Fewer privileges and a new password: check mode predicts, the run revokes.
    let change = ["-e", r#"{"pw": "n3w", "privs": "shop's.*:SELECT"}"#];
    converge(
        fleet,
        "my.yml",
        MY_DB_AND_USER,
        &[&["--check"][..], &change].concat(),
        2,
    );
    assert!(my_login(fleet, "Pa$$ \"w\\ord"));
    converge(fleet, "my.yml", MY_DB_AND_USER, &change, 2);
    assert!(my_login(fleet, "n3w"));
    assert_eq!(
        mariadb(fleet, grants).lines().skip(1).collect::<Vec<_>>(),
        ["GRANT SELECT ON `shop's`.* TO `o'neil`@`localhost`"]
    );
    converge(fleet, "my.yml", MY_DB_AND_USER, &change, 1);

    // update_password: on_create keeps an existing account's password.
    let keep = [&change[..], &["-e", "pw=other"]].concat();
    let on_create = MY_DB_AND_USER.replace(
        "column_case_sensitive: true",
        "column_case_sensitive: true\n        update_password: on_create",
    );
    // Nothing changes, the registered result neither (as in Ansible, it keeps no
    // invocation to differ by), so the copy of it stays as the run before wrote it.
    converge(fleet, "keep.yml", &on_create, &keep, 0);
    assert!(my_login(fleet, "n3w"));

    let gone = r#"
- hosts: all
  gather_facts: false
  tasks:
    - mysql_user: {name: "o'neil", host_all: true, state: absent, login_unix_socket: /run/mysqld/mysqld.sock}
    - mysql_db: {name: ["we`ird db", "shop's"], state: absent, login_unix_socket: /run/mysqld/mysqld.sock}
"#;
    converge(fleet, "gone.yml", gone, &["--check"], 2);
    assert!(my_login(fleet, "n3w"));
    converge(fleet, "gone.yml", gone, &[], 2);
    assert_eq!(mariadb(fleet, databases), "");
    assert!(!my_login(fleet, "n3w"));
    converge(fleet, "gone.yml", gone, &[], 0);
}

#[test]
fn mysql_secrets_stay_off_command_lines_and_out_of_the_output() {
    let Some(fleet) = fleet() else { return };
    let playbook = r#"
- hosts: all
  gather_facts: false
  tasks:
    - mysql_user:
        name: sec_admin
        host: localhost
        password: "Admin-Pw-4711"
        priv: "*.*:ALL,GRANT"
        column_case_sensitive: true
        login_unix_socket: /run/mysqld/mysqld.sock
    - mysql_user:
        name: sec_app
        password: "App-Pw-0815"
        priv: "sec_db.*:ALL"
        column_case_sensitive: true
        login_user: sec_admin
        login_password: "Admin-Pw-4711"
    - mysql_db:
        name: sec_db
        login_user: sec_admin
        login_password: "Admin-Pw-4711"
    - mysql_db:
        name: sec_db
        state: dump
        target: /tmp/sec_db.sql
        login_user: sec_admin
        login_password: "Admin-Pw-4711"
"#;
    let out = converge(fleet, "secret.yml", playbook, &["-vvv"], 4);
    assert!(out.contains("EXEC /bin/sh -c"), "{out}");
    for secret in ["Admin-Pw-4711", "App-Pw-0815"] {
        assert!(!out.contains(secret), "{secret} shown:\n{out}");
    }
    assert!(
        fleet
            .on_host(0, "head -c 300 /tmp/sec_db.sql")
            .contains("-- MariaDB dump")
    );
}

#[test]
fn mysql_refuses_bad_arguments_clearly() {
    let Some(fleet) = fleet() else { return };
    let cases = [
        (
            "mysql_user: {name: bad, priv: 'db.*', login_unix_socket: /run/mysqld/mysqld.sock}",
            "invalid priv string 'db.*'",
        ),
        (
            "mysql_user: {name: bad, priv: 'db.*:SELECT; DROP DATABASE mysql', login_unix_socket: /run/mysqld/mysqld.sock}",
            "invalid privilege 'SELECT; DROP DATABASE MYSQL'",
        ),
        (
            "mysql_user: {name: bad, append_privs: true, subtract_privs: true}",
            "parameters are mutually exclusive: append_privs|subtract_privs",
        ),
        (
            "mysql_user: {name: bad, password: nothash, encrypted: true, host: nowhere, host_all: true, login_unix_socket: /run/mysqld/mysqld.sock}",
            "host_all parameter cannot be used when adding a user",
        ),
        (
            "mysql_db: {name: all, login_unix_socket: /run/mysqld/mysqld.sock}",
            "name is not allowed to equal 'all' unless state equals import, or dump.",
        ),
        (
            "mysql_db: {name: nodb, state: dump, target: /tmp/x.sql, login_unix_socket: /run/mysqld/mysqld.sock}",
            "Cannot dump database(s) 'nodb' - not found",
        ),
        (
            "mysql_db: {name: nodb, login_user: nobody, login_password: wrong}",
            "unable to find",
        ),
    ];
    for (task, message) in cases {
        let playbook = format!("- hosts: all\n  gather_facts: false\n  tasks:\n    - {task}\n");
        fleet.play_fails("bad.yml", &playbook, &[], message);
    }
    assert_eq!(
        mariadb(fleet, "SELECT COUNT(*) FROM mysql.user WHERE User = 'bad'"),
        "0"
    );
}

#[test]
fn mysql_db_dumps_and_imports() {
    let Some(fleet) = fleet() else { return };
    let playbook = r#"
- hosts: all
  gather_facts: false
  vars:
    s: /run/mysqld/mysqld.sock
  tasks:
    - mysql_db: {name: [imp_src, imp_copy], state: absent, login_unix_socket: "{{ s }}"}
    - mysql_db: {name: imp_src, login_unix_socket: "{{ s }}"}
    - shell: mariadb imp_src -e "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"
    - mysql_db: {name: imp_src, state: dump, target: /tmp/imp_src.sql.xz, login_unix_socket: "{{ s }}"}
      register: dumped
    - mysql_db: {name: imp_copy, state: import, target: /tmp/imp_src.sql.xz, login_unix_socket: "{{ s }}"}
      register: imported
    - copy: {dest: /tmp/my-dump.json, content: "{{ {'dumped': dumped, 'imported': imported} | to_json }}"}
"#;
    fleet.play_expecting("dump.yml", playbook, &[], 5);
    assert_eq!(mariadb(fleet, "SELECT v FROM imp_copy.t"), "kept");
    let results: Json =
        serde_json::from_str(&fleet.on_host(0, "cat /tmp/my-dump.json")).expect("json");
    assert_eq!(
        results["dumped"]["executed_commands"],
        serde_json::json!([
            "/usr/bin/mariadb-dump --socket=/run/mysqld/mysqld.sock imp_src --quick | /usr/bin/xz > /tmp/imp_src.sql.xz"
        ])
    );
    assert_eq!(
        results["imported"]["executed_commands"],
        serde_json::json!([
            "CREATE DATABASE `imp_copy`",
            "/usr/bin/xz -dc /tmp/imp_src.sql.xz | /usr/bin/mariadb --socket=/run/mysqld/mysqld.sock --one-database imp_copy"
        ])
    );
}

// ---------------------------------------------------------------- Ansible

/// ansible-playbook of the venv with the collections (the `ansible` package that
/// bench/real installs), or `None` (skipped): a venv with ansible-core alone, as
/// bench/run makes it, cannot run community.mysql or community.postgresql.
fn ansible_playbook() -> Option<PathBuf> {
    let venv =
        std::env::var("BOSUN_BENCH_VENV").unwrap_or_else(|_| "/var/tmp/bosun-bench-venv".into());
    let venv = PathBuf::from(venv);
    let path = venv.join("bin/ansible-playbook");
    let collections = std::fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|python| {
            let site = python.path().join("site-packages/ansible_collections");
            site.join("community/mysql").is_dir() && site.join("community/postgresql").is_dir()
        });
    if !path.exists() || !collections {
        eprintln!(
            "skipped: no ansible-playbook with community.mysql and community.postgresql in {}",
            venv.display()
        );
        return None;
    }
    Some(path)
}

/// The results `playbook` registers (written by its last task to `/tmp/<p>.json`), as
/// Ansible and as bosun return them, each run with `p` set to its own prefix
/// (`ans<suffix>`, `bos<suffix>`), read back with the prefix made `P`.
fn both_results(
    fleet: &SystemdFleet,
    ansible: &PathBuf,
    playbook: &str,
    suffix: &str,
) -> (Vec<Json>, Vec<Json>) {
    let (ans, bos) = (format!("ans{suffix}"), format!("bos{suffix}"));
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    scratch.write("p.yml", playbook);
    let theirs = std::process::Command::new(ansible)
        .current_dir(scratch.path())
        .env("HOME", fleet.home())
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env("ANSIBLE_NOCOLOR", "1")
        .args(["p.yml", "-i", "hosts.ini", "-e", &format!("p={ans}")])
        .output()
        .expect("ansible-playbook runs");
    assert!(
        theirs.status.success(),
        "{}{}",
        stdout(&theirs),
        String::from_utf8_lossy(&theirs.stderr)
    );
    let (code, ours) = fleet.play("p.yml", playbook, &["-e", &format!("p={bos}")]);
    assert_eq!(code, 0, "{ours}");
    let read = |prefix: &str| -> Vec<Json> {
        let text = fleet.on_host(0, &format!("cat /tmp/{prefix}.json"));
        let mut results: Vec<Json> = serde_json::from_str(&text).expect("json");
        for result in &mut results {
            if let Some(map) = result.as_object_mut() {
                map.remove("invocation");
                // Ansible's own, about its temporary directory on the target.
                if let Some(Json::Array(warnings)) = map.get_mut("warnings") {
                    warnings.retain(|w| !w.as_str().is_some_and(|w| w.contains("remote_tmp")));
                    if warnings.is_empty() {
                        map.remove("warnings");
                    }
                }
            }
        }
        let text = serde_json::to_string(&results)
            .expect("json")
            .replace(prefix, "P");
        serde_json::from_str(&text).expect("json")
    };
    (read(&ans), read(&bos))
}

const PG_COMPARED: &str = r#"
- hosts: all
  gather_facts: false
  become: true
  become_user: postgres
  tasks:
    - postgresql_user: {name: "{{ p }}_user", password: pw1, role_attr_flags: CREATEDB, expires: "2030-01-01"}
      register: r1
    - postgresql_user: {name: "{{ p }}_user", password: pw1, role_attr_flags: CREATEDB, expires: "2030-01-01"}
      register: r2
    - postgresql_user: {name: "{{ p }}_user", password: pw2, comment: hello, conn_limit: 3}
      register: r3
    - postgresql_db: {name: "{{ p }}_db", owner: "{{ p }}_user", conn_limit: 3, encoding: UTF-8, template: template0}
      register: r4
    - postgresql_db: {name: "{{ p }}_db", owner: postgres, conn_limit: 4, comment: x}
      register: r5
    - postgresql_db: {name: "{{ p }}_db", state: dump, target: "/tmp/{{ p }}.sql"}
      register: r6
    - postgresql_db: {name: "{{ p }}_db", state: absent}
      register: r7
    - postgresql_user: {name: "{{ p }}_user", state: absent}
      register: r8
    - postgresql_user: {name: "{{ p }}_user", state: absent}
      register: r9
    - copy:
        dest: "/tmp/{{ p }}.json"
        content: "{{ [r1, r2, r3, r4, r5, r6, r7, r8, r9] | to_json }}"
      become_user: root
"#;

#[test]
fn postgresql_results_match_community_postgresql() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let Some(fleet) = fleet() else { return };
    let (theirs, ours) = both_results(fleet, &ansible, PG_COMPARED, "pg");
    assert_eq!(theirs.len(), ours.len());
    for (i, (a, b)) in theirs.iter().zip(&ours).enumerate() {
        assert_eq!(a, b, "task {}: Ansible {a}\nbosun {b}", i + 1);
    }
}

const MY_COMPARED: &str = r#"
- hosts: all
  gather_facts: false
  vars:
    s: /run/mysqld/mysqld.sock
  tasks:
    - mysql_db: {name: "{{ p }}db", encoding: utf8mb4, collation: utf8mb4_bin, login_unix_socket: "{{ s }}"}
      register: r1
    - mysql_db: {name: ["{{ p }}db", "{{ p }}db2"], login_unix_socket: "{{ s }}"}
      register: r2
    - mysql_user: {name: "{{ p }}u", password: pw, priv: "{{ p }}db.*:ALL", login_unix_socket: "{{ s }}"}
      register: r3
    - mysql_user: {name: "{{ p }}u", password: pw, priv: "{{ p }}db.*:ALL", login_unix_socket: "{{ s }}", column_case_sensitive: true}
      register: r4
    - mysql_user: {name: "{{ p }}u", password: pw2, priv: "{{ p }}db.*:SELECT/{{ p }}db2.*:ALL,GRANT", login_unix_socket: "{{ s }}"}
      register: r5
    - mysql_user: {name: "{{ p }}u", priv: "{{ p }}db.*:DELETE", append_privs: true, locked: true, login_unix_socket: "{{ s }}"}
      register: r6
    - mysql_user: {name: "{{ p }}u", host: "%", password: pw, login_unix_socket: "{{ s }}"}
      register: r7
    - mysql_user: {name: "{{ p }}u", host_all: true, priv: "*.*:USAGE", login_unix_socket: "{{ s }}"}
      register: r8
    - mysql_db: {name: "{{ p }}db", state: dump, target: "/tmp/{{ p }}.sql", login_unix_socket: "{{ s }}"}
      register: r9
    - mysql_db: {name: "{{ p }}db3", state: import, target: "/tmp/{{ p }}.sql", login_unix_socket: "{{ s }}"}
      register: r10
    - mysql_user: {name: "{{ p }}u", host_all: true, state: absent, login_unix_socket: "{{ s }}"}
      register: r11
    - mysql_db: {name: ["{{ p }}db", "{{ p }}db2", "{{ p }}db3"], state: absent, login_unix_socket: "{{ s }}"}
      register: r12
    - mysql_user: {name: "{{ p }}u", state: absent, login_unix_socket: "{{ s }}"}
      register: r13
    - mysql_user: {name: "{{ p }}x", password: pw, password_expire: interval, password_expire_interval: 30, resource_limits: {MAX_QUERIES_PER_HOUR: 5}, column_case_sensitive: true, login_unix_socket: "{{ s }}"}
      register: r14
    - mysql_user: {name: "{{ p }}x", password: pw, password_expire: interval, password_expire_interval: 30, resource_limits: {MAX_QUERIES_PER_HOUR: 5}, column_case_sensitive: true, login_unix_socket: "{{ s }}"}
      register: r15
    - mysql_user: {name: "{{ p }}x", password_expire: never, resource_limits: {MAX_QUERIES_PER_HOUR: 6, MAX_USER_CONNECTIONS: 2}, column_case_sensitive: true, login_unix_socket: "{{ s }}"}
      register: r16
    - mysql_user: {name: "{{ p }}x", state: absent, login_unix_socket: "{{ s }}"}
      register: r17
    - copy:
        dest: "/tmp/{{ p }}.json"
        content: "{{ [r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15, r16, r17] | to_json }}"
"#;

#[test]
fn mysql_results_match_community_mysql() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let Some(fleet) = fleet() else { return };
    let (theirs, ours) = both_results(fleet, &ansible, MY_COMPARED, "my");
    assert_eq!(theirs.len(), ours.len());
    for (i, (a, b)) in theirs.iter().zip(&ours).enumerate() {
        assert_eq!(a, b, "task {}: Ansible {a}\nbosun {b}", i + 1);
    }
}
