//! The addresses of every interface from one `ip -o addr` (the probe's `ipaddr`
//! section), put back into the `net` section as the `primary`/`secondary` lines each
//! device had when the probe ran `ip addr show primary|secondary dev <name>` per device.

use std::collections::HashMap;

/// The `net` section with each device's address lines after its own lines: its
/// primary addresses, then its secondary ones, each in `ip`'s order.
pub fn spliced(net: &[String], ipaddr: &[String]) -> Vec<String> {
    let mut by_device = by_device(ipaddr);
    let mut lines = Vec::with_capacity(net.len() + ipaddr.len());
    let mut device: Option<&str> = None;
    for line in net {
        if let Some(next) = line.strip_prefix("dev ") {
            lines.extend(device.and_then(|d| by_device.remove(d)).unwrap_or_default());
            device = Some(next);
        }
        lines.push(line.clone());
    }
    lines.extend(device.and_then(|d| by_device.remove(d)).unwrap_or_default());
    lines
}

/// Each device's address lines (`primary inet ...`, then `secondary inet ...`).
fn by_device(ipaddr: &[String]) -> HashMap<&str, Vec<String>> {
    let mut primary: HashMap<&str, Vec<String>> = HashMap::new();
    let mut secondary: HashMap<&str, Vec<String>> = HashMap::new();
    for line in ipaddr {
        let Some((device, address, is_secondary)) = address(line) else {
            continue;
        };
        let (list, kind) = match is_secondary {
            true => (&mut secondary, "secondary"),
            false => (&mut primary, "primary"),
        };
        list.entry(device)
            .or_default()
            .push(format!("{kind} {address}"));
    }
    for (device, lines) in secondary {
        primary.entry(device).or_default().extend(lines);
    }
    primary
}

/// One line of `ip -o addr`, `2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope
/// global secondary eth0\       valid_lft forever ...`: the device, the address as
/// `ip addr show` prints it on its own line (`inet ... eth0`), and whether it is
/// secondary (`ip` calls a secondary IPv6 address `temporary`).
fn address(line: &str) -> Option<(&str, &str, bool)> {
    let (_, rest) = line.split_once(": ")?;
    let (device, rest) = rest.split_once(char::is_whitespace)?;
    let address = rest.trim_start().split('\\').next()?;
    let flag = match address.split_whitespace().next()? {
        "inet" => "secondary",
        "inet6" => "temporary",
        _ => return None,
    };
    let is_secondary = address.split_whitespace().any(|w| w == flag);
    Some((device, address, is_secondary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    /// `ip -o addr` in a Debian 12 nspawn container whose `lo` was given two more
    /// primary and two secondary addresses (`mgmt0` is not in its /sys/class/net).
    const IPADDR: &str = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet 10.9.9.9/24 scope global lo:x\\       valid_lft forever preferred_lft forever
1: lo    inet 127.0.0.2/8 scope host secondary lo\\       valid_lft forever preferred_lft forever
1: lo    inet 10.9.9.10/24 scope global secondary lo:y\\       valid_lft forever preferred_lft forever
1: lo    inet6 fd99::1/64 scope global nodad \\       valid_lft forever preferred_lft forever
1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever
2: mgmt0    inet 198.51.100.171/24 scope global mgmt0\\       valid_lft forever preferred_lft forever
2: mgmt0    inet6 fe80::848c:a2ff:fe9d:4a7a/64 scope link \\       valid_lft forever preferred_lft forever";

    #[test]
    fn each_device_gets_its_primaries_then_its_secondaries() {
        let net = lines("dev eth0\nmtu 1400\ndev lo\nmtu 65536\nflags 0x9");
        // What `ip addr show primary dev lo`, then `secondary`, printed there.
        assert_eq!(
            spliced(&net, &lines(IPADDR)),
            lines(
                "dev eth0\nmtu 1400\ndev lo\nmtu 65536\nflags 0x9\n\
primary inet 127.0.0.1/8 scope host lo\n\
primary inet 10.9.9.9/24 scope global lo:x\n\
primary inet6 fd99::1/64 scope global nodad \n\
primary inet6 ::1/128 scope host \n\
secondary inet 127.0.0.2/8 scope host secondary lo\n\
secondary inet 10.9.9.10/24 scope global secondary lo:y"
            )
        );
    }

    #[test]
    fn a_temporary_ipv6_address_is_secondary() {
        // iproute2 prints IFA_F_SECONDARY as `temporary` on an IPv6 address.
        let ipaddr = lines(
            "4: eth0    inet6 2001:db8::5e1:9/64 scope global temporary dynamic \\       valid_lft 86000sec preferred_lft 14000sec\n\
4: eth0    inet6 2001:db8::1/64 scope global dynamic mngtmpaddr \\       valid_lft 86000sec preferred_lft 14000sec",
        );
        assert_eq!(
            spliced(&lines("dev eth0"), &ipaddr),
            lines(
                "dev eth0\nprimary inet6 2001:db8::1/64 scope global dynamic mngtmpaddr \n\
secondary inet6 2001:db8::5e1:9/64 scope global temporary dynamic "
            )
        );
    }

    #[test]
    fn lines_that_are_not_addresses_are_left_out() {
        let ipaddr = lines("garbage\n3: eth1    link/ether 02:00:00:00:00:01\n");
        assert_eq!(spliced(&lines("dev eth1"), &ipaddr), lines("dev eth1"));
    }
}
