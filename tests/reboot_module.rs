//! `reboot` against a Debian container with systemd as PID 1: the container really
//! reboots (its nspawn boots it again, as `systemd-nspawn@.service` does), bosun
//! reconnects, and the boot id read on the target afterwards is a new one.

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

const REBOOT: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - name: reboot
      reboot:
        reboot_timeout: 120
        connect_timeout: 5
        msg: rebooting for the test
      register: r
    - name: report
      debug:
        msg: \"rebooted={{ r.rebooted }} elapsed={{ r.elapsed }}\"
";

const CHECK: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - reboot:
      register: r
    - assert:
        that: [r.rebooted, r.changed, r.elapsed == 0]
";

#[test]
fn reboot_boots_the_container_again_and_comes_back() {
    let Some(fleet) = or_skip(SystemdFleet::up(1)) else {
        return;
    };
    let boot_id = "cat /proc/sys/kernel/random/boot_id";
    let before = fleet.on_host(0, boot_id);

    let (code, out) = fleet.play("check.yml", CHECK, &["--check"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fleet.on_host(0, boot_id),
        before,
        "check mode reboots nothing"
    );

    let (code, out) = fleet.play("reboot.yml", REBOOT, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rebooted=True"), "{out}");
    assert_eq!(fleet.changed(0, &out), "changed=1", "{out}");
    let after = fleet.on_host(0, boot_id);
    eprintln!("boot id before {before}, after {after}");
    assert!(!after.is_empty());
    assert_ne!(after, before, "the boot id changed on the target");
}
