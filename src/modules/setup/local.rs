//! `ansible_local`: the `*.fact` files of `fact_path`, as Ansible's local collector
//! reads them: an executable one (user execute bit) is run and its output parsed, the
//! others are read; JSON first, then INI as Python's `configparser` reads it; a file
//! that cannot be stat'ed, run or parsed gives Ansible's message instead.

use serde_json::{Map, Value as Json, json};

/// Shell lines listing the facts of `$1`: per file, `@@local <how> <path>` and then
/// its text, the script's output, or (for a failed script, `exec <rc>`) its stderr.
pub const SCRIPT: &str = r#"
[ -e "$1" ] && for f in "$1"/*.fact; do { [ -e "$f" ] || [ -L "$f" ]; } || continue
  if [ ! -e "$f" ]; then printf '@@local nostat %s\n' "$f"; continue; fi
  case $(stat -L -c %A "$f" 2>/dev/null) in
    ???[xs]*) t=$(mktemp); out=$("$f" 2>"$t"); rc=$?; printf '@@local exec %s %s\n' "$rc" "$f"
      if [ "$rc" = 0 ]; then printf '%s\n' "$out"; else cat "$t"; fi; rm -f "$t";;
    *) printf '@@local file 0 %s\n' "$f"; cat "$f" 2>/dev/null; printf '\n';;
  esac
done
"#;

/// The local facts in the probe's output.
pub fn facts(stdout: &str) -> Map<String, Json> {
    let mut facts = Map::new();
    let mut current: Option<(String, String, i64, Vec<&str>)> = None;
    let mut finish = |entry: Option<(String, String, i64, Vec<&str>)>| {
        if let Some((how, path, rc, body)) = entry {
            let name = path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .replace(".fact", "");
            facts.insert(name, fact(&how, &path, rc, &body.join("\n")));
        }
    };
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("@@local ") {
            finish(current.take());
            let mut words = rest.splitn(3, ' ');
            let how = words.next().unwrap_or_default().to_string();
            let (rc, path) = match how.as_str() {
                "nostat" => (0, rest.trim_start_matches("nostat ").to_string()),
                _ => (
                    words.next().and_then(|r| r.parse().ok()).unwrap_or(0),
                    words.next().unwrap_or_default().to_string(),
                ),
            };
            current = Some((how, path, rc, Vec::new()));
        } else if let Some((_, _, _, body)) = &mut current {
            body.push(line);
        }
    }
    finish(current.take());
    facts
}

/// One fact file's value.
fn fact(how: &str, path: &str, rc: i64, text: &str) -> Json {
    match how {
        "nostat" => {
            return json!(format!(
                "Could not stat fact ({path}): [Errno 2] No such file or directory: '{path}'"
            ));
        }
        "exec" if rc != 0 => {
            return json!(format!(
                "Failure executing fact script ({path}), rc: {rc}, err: {}",
                text.trim_end_matches('\n')
            ));
        }
        _ => {}
    }
    if let Ok(value) = serde_json::from_str::<Json>(text) {
        return value;
    }
    match ini(text) {
        Ok(Ok(sections)) => Json::Object(sections),
        Ok(Err(error)) => {
            json!(format!(
                "error loading facts as ini - please check content: {path} ({error})"
            ))
        }
        Err(()) => json!(format!(
            "error loading facts as JSON or ini - please check content: {path}"
        )),
    }
}

/// Reads INI text as Python's `configparser` does (`pyconfig::Ini`): `Err(())` when it
/// cannot be parsed, `Ok(Err(message))` when a value cannot be interpolated.
fn ini(text: &str) -> Result<Result<Map<String, Json>, String>, ()> {
    let ini = crate::pyconfig::Ini::parse(text, false).map_err(|_| ())?;
    let mut out = Map::new();
    for name in ini.section_names() {
        match ini.items(name) {
            Ok(items) => {
                let values = items.into_iter().map(|(k, v)| (k, json!(v))).collect();
                out.insert(name.to_string(), Json::Object(values));
            }
            Err(error) => return Ok(Err(error)),
        }
    }
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fact_files_read_as_ansible_reads_them() {
        let out = "@@local file 0 /f/app.fact\n{\"port\": 80}\n\n\
@@local exec 0 /f/good.fact\n{\"script_ran\": true}\n\
@@local exec 1 /f/bads.fact\noops\n\
@@local file 0 /f/site.fact\n[DEFAULT]\nzone = eu\n[main]\nName = web\npath = %(zone)s/x\nlong = a\n  b\n\n\
@@local file 0 /f/bad.fact\n[bad fact]\nvalue = this is a % bad % fact\n\n\
@@local file 0 /f/none.fact\nwontbeseen=ever\n\n\
@@local nostat /f/dead.fact\n";
        let facts = facts(out);
        assert_eq!(facts["app"], json!({"port": 80}));
        assert_eq!(facts["good"], json!({"script_ran": true}));
        assert_eq!(
            facts["bads"],
            json!("Failure executing fact script (/f/bads.fact), rc: 1, err: oops")
        );
        assert_eq!(
            facts["site"],
            json!({"main": {"name": "web", "path": "eu/x", "long": "a\nb", "zone": "eu"}})
        );
        assert_eq!(
            facts["bad"],
            json!(
                "error loading facts as ini - please check content: /f/bad.fact ('%' must be followed by '%' or '(', found: '% bad % fact')"
            )
        );
        assert_eq!(
            facts["none"],
            json!("error loading facts as JSON or ini - please check content: /f/none.fact")
        );
        assert_eq!(
            facts["dead"],
            json!(
                "Could not stat fact (/f/dead.fact): [Errno 2] No such file or directory: '/f/dead.fact'"
            )
        );
    }

    #[test]
    fn the_script_lists_what_each_file_is() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path();
        std::fs::write(p.join("a.fact"), "{\"x\": 1}\n").expect("write");
        std::fs::write(p.join("run.fact"), "#!/bin/sh\necho '{\"ran\": true}'\n").expect("write");
        std::fs::write(p.join("fail.fact"), "#!/bin/sh\necho no >&2; exit 3\n").expect("write");
        use std::os::unix::fs::PermissionsExt;
        for name in ["run.fact", "fail.fact"] {
            std::fs::set_permissions(p.join(name), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        std::os::unix::fs::symlink("/nonexistent-bosun", p.join("dead.fact")).expect("link");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("sh")
            .arg(p)
            .output()
            .expect("sh");
        let facts = facts(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(facts["a"], json!({"x": 1}));
        assert_eq!(facts["run"], json!({"ran": true}));
        assert!(
            facts["fail"]
                .as_str()
                .is_some_and(|f| f.ends_with("rc: 3, err: no")),
            "{facts:?}"
        );
        assert!(
            facts["dead"]
                .as_str()
                .is_some_and(|f| f.starts_with("Could not stat fact"))
        );
    }
}
