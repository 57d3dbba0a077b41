//! community.general modules (`ini_file`, ...) run by the real binary over SSH against
//! a Debian container with systemd as PID 1 (one container, shared by the tests of
//! this file), checked there with the system's own tools.

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

const INI: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: a setting in a new file
      community.general.ini_file:
        path: /etc/bosun-ini/app.ini
        section: drinks
        option: fav
        value: lemonade
        mode: '0600'
    - name: several values outside any section
      ini_file:
        path: /etc/bosun-ini/app.ini
        option: top
        values: [a, b]
        no_extra_spaces: true
    - name: a commented-out option is taken over
      ini_file:
        path: /etc/bosun-ini/app.ini
        section: drinks
        option: cold
        value: 'yes'
";

#[test]
fn ini_file_edits_settings_as_ansible_does() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.on_host(
        0,
        "rm -rf /etc/bosun-ini; mkdir /etc/bosun-ini; printf '[drinks]\\n# cold = no\\n' > /etc/bosun-ini/app.ini",
    );
    let file = "cat /etc/bosun-ini/app.ini; stat -c %a /etc/bosun-ini/app.ini";
    let before = fleet.on_host(0, file);

    let out = fleet.play_expecting("ini.yml", INI, &["--check", "--diff"], 3);
    assert!(out.contains("+fav = lemonade"), "{out}");
    assert!(out.contains("(content)"), "{out}");
    assert_eq!(fleet.on_host(0, file), before, "check mode touched nothing");

    fleet.play_expecting("ini.yml", INI, &[], 3);
    assert_eq!(
        fleet.on_host(0, file),
        "top=a\ntop=b\n[drinks]\nfav = lemonade\ncold = yes\n600"
    );
    fleet.play_expecting("ini.yml", INI, &[], 0);

    let remove = "
- hosts: all
  gather_facts: false
  tasks:
    - ini_file: path=/etc/bosun-ini/app.ini section=drinks state=absent backup=true
      register: removed
    - copy: dest=/tmp/bosun-ini-result content={{ removed.msg }}|{{ removed.backup_file is defined }}|{{ removed.mode }}
";
    fleet.play_expecting("remove.yml", remove, &[], 2);
    assert_eq!(
        fleet.on_host(0, "cat /etc/bosun-ini/app.ini"),
        "top=a\ntop=b"
    );
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bosun-ini-result"),
        "section removed|True|0600"
    );
    assert_eq!(
        fleet.on_host(0, "ls /etc/bosun-ini | grep -c '^app.ini\\..*~$'"),
        "1",
        "one backup"
    );
}

#[test]
fn ini_file_replaces_a_link_unless_told_to_follow_it() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.on_host(
        0,
        "rm -rf /tmp/bosun-ini-link; mkdir /tmp/bosun-ini-link; cd /tmp/bosun-ini-link; \
         printf '[a]\\nx = 1\\n' > real.ini; ln -s real.ini link.ini; ln -s real.ini follow.ini",
    );
    let playbook = "
- hosts: all
  gather_facts: false
  tasks:
    - ini_file: path=/tmp/bosun-ini-link/link.ini section=a option=y value=2
    - ini_file: path=/tmp/bosun-ini-link/follow.ini section=a option=z value=3 follow=true
";
    fleet.play_expecting("link.yml", playbook, &[], 2);
    let dir = "/tmp/bosun-ini-link";
    assert_eq!(
        fleet.on_host(0, &format!("stat -c %F {dir}/link.ini {dir}/follow.ini")),
        "regular file\nsymbolic link"
    );
    assert_eq!(
        fleet.on_host(0, &format!("cat {dir}/link.ini; echo; cat {dir}/real.ini")),
        "[a]\nx = 1\ny = 2\n\n[a]\nx = 1\nz = 3"
    );
}

#[test]
fn ini_file_refuses_what_ansible_refuses() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let missing = "
- hosts: all
  gather_facts: false
  tasks:
    - ini_file: path=/tmp/bosun-no-such.ini option=a value=1 create=false
";
    fleet.play_fails(
        "missing.yml",
        missing,
        &[],
        "Destination /tmp/bosun-no-such.ini does not exist!",
    );
    let no_value = "
- hosts: all
  gather_facts: false
  tasks:
    - ini_file: path=/tmp/bosun-ini.ini section=a option=b
";
    fleet.play_fails(
        "novalue.yml",
        no_value,
        &[],
        "Parameter 'value(s)' must be defined if state=present and allow_no_value=False.",
    );
    let both = "
- hosts: all
  gather_facts: false
  tasks:
    - ini_file: path=/tmp/bosun-ini.ini option=b value=1 values=2
";
    fleet.play_fails(
        "both.yml",
        both,
        &[],
        "parameters are mutually exclusive: value|values",
    );
}

const TIMEZONE: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - community.general.timezone:
        name: Asia/Tokyo
        hwclock: local
";

#[test]
fn timezone_sets_the_zone_with_timedatectl_or_the_debian_files() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let zone = "timedatectl show -p Timezone -p LocalRTC --value | tr '\\n' ' '";
    let before = fleet.on_host(0, zone);
    assert_eq!(before, "Etc/UTC no");

    let out = fleet.play_expecting("tz.yml", TIMEZONE, &["--check", "--diff"], 1);
    assert!(out.contains("+    \"name\": \"Asia/Tokyo\""), "{out}");
    assert_eq!(fleet.on_host(0, zone), before, "check mode changed nothing");

    let out = fleet.play_expecting("tz.yml", TIMEZONE, &["-v"], 1);
    assert!(
        out.contains("executed `/usr/bin/timedatectl set-local-rtc yes`\\nexecuted `/usr/bin/timedatectl set-timezone Asia/Tokyo`"),
        "{out}"
    );
    assert_eq!(fleet.on_host(0, zone), "Asia/Tokyo yes");
    fleet.play_expecting("tz.yml", TIMEZONE, &[], 0);

    let back = "
- hosts: all
  gather_facts: false
  tasks:
    - timezone: name=Etc/UTC rtc=UTC
";
    fleet.play_expecting("back.yml", back, &[], 1);
    assert_eq!(fleet.on_host(0, zone), "Etc/UTC no");
    let unknown = "
- hosts: all
  gather_facts: false
  tasks:
    - timezone: name=Mars/Olympus
";
    fleet.play_fails(
        "unknown.yml",
        unknown,
        &[],
        "given timezone \\\"Mars/Olympus\\\" is not available",
    );
    let nothing = "
- hosts: all
  gather_facts: false
  tasks:
    - timezone: {}
";
    fleet.play_fails(
        "nothing.yml",
        nothing,
        &[],
        "one of the following is required: hwclock, name",
    );

    // Without a working timedatectl, the module edits the Debian files (in the same
    // test: both change the container's zone).
    let playbook = "
- hosts: all
  gather_facts: false
  tasks:
    - timezone: name=Europe/Paris
      environment:
        PATH: /tmp/bosun-no-timedatectl:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
";
    fleet.on_host(
        0,
        "mkdir -p /tmp/bosun-no-timedatectl; printf '#!/bin/sh\\nexit 1\\n' > /tmp/bosun-no-timedatectl/timedatectl; \
         chmod +x /tmp/bosun-no-timedatectl/timedatectl; printf 'Etc/UTC\\n' > /etc/timezone",
    );
    let out = fleet.play_expecting("classic.yml", playbook, &["-v"], 1);
    assert!(
        out.contains("Added 1 line and deleted 1 line(s) on /etc/timezone"),
        "{out}"
    );
    assert_eq!(
        fleet.on_host(0, "cat /etc/timezone; readlink /etc/localtime"),
        "Europe/Paris\n/usr/share/zoneinfo/Europe/Paris"
    );
    fleet.play_expecting("classic.yml", playbook, &[], 0);
    fleet.on_host(
        0,
        "timedatectl set-timezone Etc/UTC; echo Etc/UTC > /etc/timezone",
    );
}

const ALTERNATIVES: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: one, installed and selected
      community.general.alternatives:
        name: bosun-alt
        path: /usr/local/bin/bosun-alt-one
        link: /usr/bin/bosun-alt
        priority: 20
    - name: two, installed with a follower, not selected
      alternatives:
        name: bosun-alt
        path: /usr/local/bin/bosun-alt-two
        link: /usr/bin/bosun-alt
        state: present
        subcommands:
          - name: bosun-alt.1
            path: /usr/local/share/bosun-alt-two.1
            link: /usr/share/man/man1/bosun-alt.1
";

#[test]
fn alternatives_installs_selects_and_removes() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.on_host(
        0,
        "update-alternatives --remove-all bosun-alt 2>/dev/null; mkdir -p /usr/local/share; \
         for n in one two; do printf '#!/bin/sh\\necho %s\\n' $n > /usr/local/bin/bosun-alt-$n; \
         chmod +x /usr/local/bin/bosun-alt-$n; done; touch /usr/local/share/bosun-alt-two.1",
    );
    let display = "LC_ALL=C update-alternatives --query bosun-alt 2>&1 | grep -E '^(Status|Value|Alternative|Priority):' | tr '\\n' ' '";

    let out = fleet.play_expecting("alt.yml", ALTERNATIVES, &["--check", "--diff"], 2);
    assert!(out.contains("+    \"priority\": 20,"), "{out}");
    assert_eq!(
        fleet.on_host(
            0,
            "update-alternatives --query bosun-alt >/dev/null 2>&1 || echo none"
        ),
        "none",
        "check mode installed nothing"
    );

    fleet.play_expecting("alt.yml", ALTERNATIVES, &[], 2);
    assert_eq!(
        fleet.on_host(0, display),
        "Status: manual Value: /usr/local/bin/bosun-alt-one Alternative: /usr/local/bin/bosun-alt-one Priority: 20 Alternative: /usr/local/bin/bosun-alt-two Priority: 50"
    );
    assert_eq!(fleet.on_host(0, "bosun-alt"), "one");
    assert_eq!(
        fleet.on_host(0, "readlink /etc/alternatives/bosun-alt.1"),
        "",
        "the follower is linked only while two is selected"
    );
    fleet.play_expecting("alt.yml", ALTERNATIVES, &[], 0);

    let select = "
- hosts: all
  gather_facts: false
  tasks:
    - alternatives: name=bosun-alt path=/usr/local/bin/bosun-alt-two
      register: selected
    - alternatives: name=bosun-alt path=/usr/local/bin/bosun-alt-one state=auto
    - alternatives: name=bosun-alt path=/usr/local/bin/bosun-alt-two state=absent
    - copy: dest=/tmp/bosun-alt-msg content={{ selected.msg }}
";
    fleet.play_expecting("select.yml", select, &[], 4);
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bosun-alt-msg"),
        "Set alternative '/usr/local/bin/bosun-alt-two' for 'bosun-alt'."
    );
    assert_eq!(
        fleet.on_host(0, display),
        "Status: auto Value: /usr/local/bin/bosun-alt-one Alternative: /usr/local/bin/bosun-alt-one Priority: 20"
    );

    let missing = "
- hosts: all
  gather_facts: false
  tasks:
    - alternatives: name=bosun-alt path=/usr/local/bin/bosun-no-such link=/usr/bin/bosun-alt
";
    fleet.play_fails(
        "missing.yml",
        missing,
        &[],
        "Specified path /usr/local/bin/bosun-no-such does not exist",
    );
    fleet.play_fails(
        "nothing.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - alternatives: name=bosun-alt\n",
        &[],
        "one of the following is required: path, family",
    );
}

const PAM_LIMITS: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - community.general.pam_limits:
        dest: /etc/security/limits.d/bosun.conf
        domain: '*'
        limit_type: soft
        limit_item: nofile
        value: '4096'
    - pam_limits:
        dest: /etc/security/limits.d/bosun.conf
        domain: '@dev'
        limit_type: '-'
        limit_item: nproc
        value: '100'
        use_max: true
        comment: developers
";

#[test]
fn pam_limits_sets_limit_lines() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let file = "/etc/security/limits.d/bosun.conf";
    fleet.on_host(
        0,
        &format!("printf '# bosun\\n*   soft   nofile   1024\\n@dev - nproc 200\\n' > {file}"),
    );
    let before = fleet.on_host(0, &format!("cat {file}"));

    let out = fleet.play_expecting("limits.yml", PAM_LIMITS, &["--check", "--diff"], 1);
    assert!(out.contains("+*\tsoft\tnofile\t4096"), "{out}");
    assert_eq!(
        fleet.on_host(0, &format!("cat {file}")),
        before,
        "check mode"
    );

    fleet.play_expecting("limits.yml", PAM_LIMITS, &[], 1);
    assert_eq!(
        fleet.on_host(0, &format!("cat {file}")),
        "# bosun\n*\tsoft\tnofile\t4096\n@dev - nproc 200",
        "use_max kept the larger nproc"
    );
    fleet.play_expecting("limits.yml", PAM_LIMITS, &[], 0);

    let bad = "
- hosts: all
  gather_facts: false
  tasks:
    - pam_limits: domain=joe limit_type=hard limit_item=nice value=40 dest=/etc/security/limits.d/bosun.conf
";
    fleet.play_fails(
        "bad.yml",
        bad,
        &[],
        "Value of '40' for item 'nice' is invalid. Value must be a number in the range -20 to 19 inclusive.",
    );
    fleet.play_fails(
        "type.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - pam_limits: domain=joe limit_type=both limit_item=nice value=4\n",
        &[],
        "value of limit_type must be one of: soft, hard, -, got: both",
    );
}

#[test]
fn locale_gen_generates_and_removes_locales() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["locales"]);
    let present = "
- hosts: all
  gather_facts: false
  tasks:
    - community.general.locale_gen:
        name: [de_CH.UTF-8, C.UTF-8]
";
    let listed = "locale -a | grep -c '^de_CH.utf8$'; grep -c '^de_CH.UTF-8 UTF-8' /etc/locale.gen";
    fleet.on_host(
        0,
        "sed -i 's/^de_CH.UTF-8 UTF-8/# de_CH.UTF-8 UTF-8/' /etc/locale.gen; locale-gen >/dev/null",
    );
    assert_eq!(fleet.on_host(0, listed), "0\n0");

    fleet.play_expecting("present.yml", present, &["--check"], 1);
    assert_eq!(fleet.on_host(0, listed), "0\n0", "check mode");
    fleet.play_expecting("present.yml", present, &[], 1);
    assert_eq!(fleet.on_host(0, listed), "1\n1");
    fleet.play_expecting("present.yml", present, &[], 0);

    let absent = "
- hosts: all
  gather_facts: false
  tasks:
    - locale_gen: name=de_CH.UTF-8 state=absent
";
    fleet.play_expecting("absent.yml", absent, &[], 1);
    assert_eq!(fleet.on_host(0, listed), "0\n0");
    assert_eq!(
        fleet.on_host(0, "grep -c '^# de_CH.UTF-8 UTF-8' /etc/locale.gen"),
        "1"
    );
    fleet.play_expecting("absent.yml", absent, &[], 0);

    let unknown = "
- hosts: all
  gather_facts: false
  tasks:
    - locale_gen: name=xx_YY.UTF-8
";
    fleet.play_fails(
        "unknown.yml",
        unknown,
        &[],
        "The following locales you have entered are not available on your system: xx_YY.UTF-8",
    );
}

#[test]
fn modprobe_reads_the_kernel_and_keeps_persistence_files() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["kmod"]);
    let playbook = "
- hosts: all
  gather_facts: false
  tasks:
    - community.general.modprobe:
        name: bosun_nomod
        state: absent
        params: numthings=2
        persistent: present
";
    // Whether the module can tell a loaded module at all depends on the kernel the
    // containers share: without /proc/modules (or modules.builtin), Ansible's module
    // fails before anything else, and so does bosun.
    let kernel = fleet.on_host(
        0,
        "[ -r /proc/modules ] && [ -r /lib/modules/$(uname -r)/modules.builtin ] && echo yes",
    );
    if kernel != "yes" {
        let message = match fleet
            .on_host(0, "[ -r /proc/modules ] && echo yes")
            .as_str()
        {
            "yes" => "modules.builtin'",
            _ => "[Errno 2] No such file or directory: '/proc/modules'",
        };
        fleet.play_fails("modprobe.yml", playbook, &[], message);
        return;
    }
    let files = "cat /etc/modules-load.d/bosun_nomod.conf /etc/modprobe.d/bosun_nomod.conf";
    fleet.play_expecting("modprobe.yml", playbook, &["--check"], 1);
    assert_eq!(fleet.on_host(0, &format!("{files} 2>/dev/null")), "");
    fleet.play_expecting("modprobe.yml", playbook, &[], 1);
    assert_eq!(
        fleet.on_host(0, files),
        "bosun_nomod\noptions bosun_nomod numthings=2"
    );
    fleet.play_expecting("modprobe.yml", playbook, &[], 0);
}

#[test]
fn capabilities_sets_and_removes_file_capabilities() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["libcap2-bin"]);
    fleet.on_host(0, "cp /bin/true /usr/local/bin/bosun-cap");
    let set = "
- hosts: all
  gather_facts: false
  tasks:
    - community.general.capabilities:
        path: /usr/local/bin/bosun-cap
        capability: cap_net_raw=ep
    - capabilities: path=/usr/local/bin/bosun-cap cap=CAP_NET_BIND_SERVICE=ep
";
    let caps = "getcap /usr/local/bin/bosun-cap";
    fleet.play_expecting("set.yml", set, &["--check"], 2);
    assert_eq!(fleet.on_host(0, caps), "", "check mode");
    fleet.play_expecting("set.yml", set, &[], 2);
    assert_eq!(
        fleet.on_host(0, caps),
        "/usr/local/bin/bosun-cap cap_net_bind_service,cap_net_raw=ep"
    );
    fleet.play_expecting("set.yml", set, &[], 0);

    let remove = "
- hosts: all
  gather_facts: false
  tasks:
    - capabilities: path=/usr/local/bin/bosun-cap cap=cap_net_raw state=absent
";
    fleet.play_expecting("remove.yml", remove, &[], 1);
    assert_eq!(
        fleet.on_host(0, caps),
        "/usr/local/bin/bosun-cap cap_net_bind_service=ep"
    );
    fleet.play_expecting("remove.yml", remove, &[], 0);
    fleet.play_fails(
        "noop.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - capabilities: path=/usr/local/bin/bosun-cap cap=cap_net_raw\n",
        &[],
        "Couldn't find operator (one of: ('=', '-', '+'))",
    );
    fleet.play_fails(
        "nofile.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - capabilities: path=/usr/local/bin/bosun-no-cap cap=cap_net_raw=ep\n",
        &[],
        "Unable to get capabilities of /usr/local/bin/bosun-no-cap",
    );
}

#[test]
fn make_runs_only_targets_that_are_not_up_to_date() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.apt_install(&["make"]);
    fleet.on_host(
        0,
        "rm -rf /tmp/bosun-make; mkdir /tmp/bosun-make; \
         printf 'all: out.txt\\nout.txt:\\n\\techo \"$(GREETING)\" > out.txt\\nclean:\\n\\trm -f out.txt\\n' > /tmp/bosun-make/Makefile",
    );
    let build = "
- hosts: all
  gather_facts: false
  tasks:
    - community.general.make:
        chdir: /tmp/bosun-make
        params:
          GREETING: hello world
      register: built
    - copy: dest=/tmp/bosun-make-command content={{ built.command }}
      when: built is changed
";
    let out = "cat /tmp/bosun-make/out.txt 2>/dev/null || echo none";
    fleet.play_expecting("build.yml", build, &["--check"], 2);
    assert_eq!(fleet.on_host(0, out), "none", "check mode made nothing");
    fleet.play_expecting("build.yml", build, &[], 2);
    assert_eq!(fleet.on_host(0, out), "hello world");
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bosun-make-command"),
        "/usr/bin/gmake 'GREETING=hello world'",
        "gmake is preferred, as in Ansible"
    );
    fleet.play_expecting("build.yml", build, &[], 0);

    let clean = "
- hosts: all
  gather_facts: false
  tasks:
    - make: chdir=/tmp/bosun-make target=clean
";
    fleet.play_expecting("clean.yml", clean, &[], 1);
    assert_eq!(fleet.on_host(0, out), "none");
    fleet.play_fails(
        "nosuch.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - make: chdir=/tmp/bosun-make target=nosuch\n",
        &[],
        "No rule to make target 'nosuch'",
    );
}
