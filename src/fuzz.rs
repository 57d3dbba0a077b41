//! A bounded fuzz run that `cargo test` does on every build: random and mutated
//! input for the YAML loader, the INI and YAML inventory parsers and the template
//! engine. Each may refuse its input, but none may panic, abort or take long. The
//! generator is seeded, so a failure names a case that fails again the same way.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use serde_json::json;

use crate::inventory::Inventory;
use crate::template::{Templar, Vars};

/// Cases per target: enough to reach the limits, few enough for a debug build.
const CASES: usize = 1500;

/// The most CPU time one case may use (debug build).
const CASE_TIME: Duration = Duration::from_secs(2);

/// A xorshift64* generator: small, seeded, the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `bound` (which must not be 0).
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// One of `items`.
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A text of up to `max` pieces from `alphabet`; now and then one piece is repeated
/// hundreds or thousands of times, to reach the nesting and size limits.
fn generate(rng: &mut Rng, alphabet: &[&str], max: usize) -> String {
    let mut text = String::new();
    for _ in 0..rng.below(max) + 1 {
        let piece = rng.pick(alphabet);
        let times = match rng.below(40) {
            0 => 300 + rng.below(3_000),
            1..=4 => 2 + rng.below(8),
            _ => 1,
        };
        text.push_str(&piece.repeat(times));
    }
    text
}

/// `seed` with a few random edits: a piece of itself copied elsewhere, a slice
/// dropped, or a piece of `alphabet` inserted.
fn mutate(rng: &mut Rng, seed: &str, alphabet: &[&str]) -> String {
    let mut text = seed.to_string();
    for _ in 0..rng.below(4) + 1 {
        let at = boundary(&text, rng.below(text.len() + 1));
        match rng.below(3) {
            0 => {
                let end = boundary(&text, at + rng.below(40));
                let copy = text[at..end].to_string();
                let to = boundary(&text, rng.below(text.len() + 1));
                text.insert_str(to, &copy);
            }
            1 => {
                let end = boundary(&text, at + rng.below(10));
                text.replace_range(at..end, "");
            }
            _ => text.insert_str(at, rng.pick(alphabet)),
        }
    }
    text
}

/// The CPU time this thread has used: a case's cost without the machine's load (other
/// test binaries, builds) in it, so a slow case means a slow parser, not a busy box.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec for this thread's CPU clock.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// The nearest char boundary at or before `at` (clamped to the text).
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Runs `check` on `CASES` inputs made from `seeds` and `alphabet`; fails naming the
/// first input that panics or is slow.
fn fuzz(seed: u64, seeds: &[&str], alphabet: &[&str], check: impl Fn(&str)) {
    let mut rng = Rng(seed);
    for case in 0..CASES {
        let input = if case % 2 == 0 {
            generate(&mut rng, alphabet, 40)
        } else {
            let seed = rng.pick(seeds);
            mutate(&mut rng, seed, alphabet)
        };
        let started = thread_cpu_time();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
        let shown: String = input.chars().take(300).collect();
        assert!(outcome.is_ok(), "case {case} panicked on {shown:?}");
        let took = thread_cpu_time().saturating_sub(started);
        assert!(took < CASE_TIME, "case {case} took {took:?} on {shown:?}");
    }
}

const YAML_SEEDS: &[&str] = &[
    "- hosts: all\n  vars:\n    base: &b {x: 1, y: [a, b]}\n    other:\n      <<: *b\n      y: 3\n  tasks:\n    - name: t\n      debug: msg=hi\n      when: x | default(0) > 0\n",
    "a: |\n  text\n  more\nb: >-\n  folded\nc: !!str 0644\nd: 'it''s'\ne: \"\\u00e9\\n\"\n",
    "- [1, 2, {a: b}]\n- ? complex\n  : key\n- &x y\n- *x\n",
];

const YAML_ALPHABET: &[&str] = &[
    "- ",
    ": ",
    "\n",
    "  ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "<<: ",
    "'",
    "\"",
    "|",
    ">",
    "# c",
    "!!str ",
    "key",
    "x",
    "1",
    "0644",
    "yes",
    "~",
    "é",
    "\t",
    "---\n",
    "...\n",
    "? ",
    "%YAML 1.1\n",
    "\\",
    "0x1F",
    ".inf",
    "a: &a [*a]\n",
];

#[test]
fn the_yaml_loader_survives_random_input() {
    fuzz(0x5EED_0001, YAML_SEEDS, YAML_ALPHABET, |text| {
        let _ = crate::yaml::parse_document(&crate::source::SourceFile::new("f.yml", text));
    });
}

const INI_SEEDS: &[&str] = &[
    "[web]\nweb[01:03].example.com ansible_port=2222 x='a b'\n[web:vars]\nhttp=8080\n[all:children]\nweb\n",
    "localhost ansible_connection=local\n[db]\ndb[a:c] y=\"{'k': [1, 2]}\"\n; comment\n# other\n",
];

const INI_ALPHABET: &[&str] = &[
    "[",
    "]",
    ":vars",
    ":children",
    "=",
    "h",
    "web",
    "[1:3]",
    "[a:c]",
    "[01:10:2]",
    "[1:]",
    "[1:99999999]",
    "ansible_port=22",
    "\n",
    " ",
    "'",
    "\"",
    "#",
    ";",
    "\\",
    "all",
    "x=[1,2]",
    "y={'a': 1}",
    "é",
    ":",
    "[web]\n",
    "[web:children]\n",
    "web\n",
    "::1",
    "[fe80::1]:22",
];

/// Loads `text` as an inventory file named `name`, then lists it as `--list` would.
fn load_inventory(dir: &std::path::Path, name: &str, text: &str) {
    let path = dir.join(name);
    if std::fs::write(&path, text).is_err() {
        return;
    }
    if let Ok(inventory) = Inventory::load(&[path.to_string_lossy().into_owned()]) {
        let _ = inventory.to_list_json();
        let _ = inventory.graph(None);
    }
}

#[test]
fn the_ini_inventory_parser_survives_random_input() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fuzz(0x5EED_0002, INI_SEEDS, INI_ALPHABET, |text| {
        load_inventory(dir.path(), "hosts.ini", text);
    });
}

const YAML_INVENTORY_SEEDS: &[&str] = &[
    "all:\n  hosts:\n    h[1:3]:\n      ansible_host: 10.0.0.1\n  children:\n    web:\n      hosts:\n        w1:\n      vars:\n        port: 80\n",
    "web:\n  hosts:\n    a: {x: 1}\n    b:\n  children:\n    db: {}\n",
];

const YAML_INVENTORY_ALPHABET: &[&str] = &[
    "all:\n",
    "  hosts:\n",
    "    h[1:3]:\n",
    "    h[1:99999999]:\n",
    "  children:\n",
    "    web:\n",
    "      vars:\n",
    "ansible_host: x\n",
    "  ",
    "\n",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "~",
    "1",
    "é",
];

#[test]
fn the_yaml_inventory_parser_survives_random_input() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fuzz(
        0x5EED_0003,
        YAML_INVENTORY_SEEDS,
        YAML_INVENTORY_ALPHABET,
        |text| load_inventory(dir.path(), "hosts.yml", text),
    );
}

const TEMPLATE_SEEDS: &[&str] = &[
    "{{ a | default('x') }} {% if b and not c %}{{ d.e[0] }}{% endif %}",
    "{% for i in [1] %}{{ loop.index }}{{ i ~ '-' }}{% endfor %}{# note #}{% raw %}{{ x }}{% endraw %}",
    "{{ {'k': [1, 2]} | dict2items | map(attribute='key') | list | to_json }}",
    "{% macro m(x) %}{{ x * 2 }}{% endmacro %}{{ m(3) }} {{ '%s' | format(1) }} {{ 7 // 2 ** 3 }}",
];

const TEMPLATE_ALPHABET: &[&str] = &[
    "{{ ",
    " }}",
    "{% ",
    " %}",
    "{# ",
    " #}",
    "if ",
    "else ",
    "endif",
    "for i in [1] ",
    "endfor",
    "set y = ",
    "a",
    "b",
    "d.e",
    "1",
    "2.5",
    "'s'",
    "\"t\"",
    " - ",
    " + ",
    "not ",
    " and ",
    " or ",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "|",
    "default",
    "d(1)",
    "length",
    "to_json",
    "from_yaml",
    "to_yaml",
    "b64decode",
    "regex_replace('a', 'b')",
    "int",
    "list",
    "join(',')",
    ".",
    ", ",
    ": ",
    " ~ ",
    " * ",
    " ** ",
    " // ",
    " is defined",
    " in ",
    "raw",
    "endraw",
    "é",
    "\\",
    "\n",
];

#[test]
fn the_template_engine_survives_random_input() {
    let templar = Templar::new();
    let vars = match json!({"a": "x", "b": [1, 2], "c": false, "d": {"e": ["f"]}}) {
        serde_json::Value::Object(map) => Vars::new(templar.clone(), map),
        _ => unreachable!("a JSON object literal"),
    };
    fuzz(0x5EED_0004, TEMPLATE_SEEDS, TEMPLATE_ALPHABET, |text| {
        let _ = templar.render_str(text, &vars);
        let _ = templar.condition(text, &vars);
    });
}
