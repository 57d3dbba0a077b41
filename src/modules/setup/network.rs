//! The `network` facts as Ansible's Linux collector builds them from `/sys/class/net`
//! and `ip addr` ([`super::addresses`]): `interfaces`, one `ansible_<iface>` each,
//! `default_ipv4`/`_ipv6`, `all_ipv4_addresses`/`_ipv6_addresses` and
//! `locally_reachable_ips`.

use std::net::Ipv4Addr;

use serde_json::{Map, Value as Json, json};

use super::ip::IpLines;
use super::probe::Sections;

type Facts = Map<String, Json>;

/// The words after `key` in an `ip route get` line.
fn route(line: &str) -> Facts {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = Facts::new();
    for (key, name) in [("dev", "interface"), ("src", "address"), ("via", "gateway")] {
        if let Some(i) = words.iter().position(|w| *w == key)
            && let Some(value) = words.get(i + 1)
        {
            out.insert(name.into(), json!(value));
        }
    }
    out
}

/// One `inet`/`inet6` line of `ip addr show`, without its leading `primary`/`secondary`.
fn ipv4_entry(words: &[&str]) -> Option<(Facts, String)> {
    let (address, length) = match words.get(1)?.split_once('/') {
        Some((a, l)) => (a.to_string(), l.to_string()),
        None => (words[1].to_string(), "32".to_string()),
    };
    let broadcast = match (words.get(2), words.get(3)) {
        (Some(&"brd"), Some(b)) if words.len() > 3 => b.to_string(),
        _ => String::new(),
    };
    let bits: u32 = length.parse().ok()?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32))
    };
    let ip: Ipv4Addr = address.parse().ok()?;
    let entry = json!({
        "address": address,
        "broadcast": broadcast,
        "netmask": Ipv4Addr::from(mask).to_string(),
        "network": Ipv4Addr::from(u32::from(ip) & mask).to_string(),
        "prefix": length,
    });
    let label = words.last()?.to_string();
    Some((entry.as_object()?.clone(), label))
}

/// The `network` facts.
pub fn facts(s: &Sections) -> Facts {
    let ip = IpLines::split(s.lines("ip"));
    let mut default_ipv4 = route(ip.route4);
    let mut default_ipv6 = route(ip.route6);
    let mut interfaces: Vec<(String, Facts)> = Vec::new();
    let mut all_v4: Vec<Json> = Vec::new();
    let mut all_v6: Vec<Json> = Vec::new();
    let mut reachable_v4: Vec<Json> = Vec::new();
    let mut reachable_v6: Vec<Json> = Vec::new();
    let mut current: Option<usize> = None;
    for line in &super::addresses::spliced(s.lines("net"), &ip.addresses) {
        let Some((key, value)) = line.split_once(' ').or(Some((line.as_str(), ""))) else {
            continue;
        };
        if key == "dev" {
            interfaces.push((value.to_string(), Facts::new()));
            let device = &mut interfaces.last_mut().expect("pushed").1;
            device.insert("device".into(), json!(value));
            current = Some(interfaces.len() - 1);
            continue;
        }
        let Some(index) = current else { continue };
        let device = &mut interfaces[index].1;
        match key {
            "address" if !value.is_empty() && value != "00:00:00:00:00:00" => {
                device.insert("macaddress".into(), json!(value));
            }
            "mtu" => {
                device.insert("mtu".into(), super::number(value));
            }
            "operstate" => {
                device.insert("active".into(), json!(value != "down"));
            }
            "module" => {
                device.insert("module".into(), json!(value));
            }
            "type" => {
                let kind = match value {
                    "1" => "ether",
                    "32" => "infiniband",
                    "512" => "ppp",
                    "772" => "loopback",
                    "65534" => "tunnel",
                    _ => "unknown",
                };
                device.insert("type".into(), json!(kind));
            }
            "bridge" => {
                device.insert("type".into(), json!("bridge"));
                device.insert(
                    "interfaces".into(),
                    json!(value.split_whitespace().collect::<Vec<_>>()),
                );
            }
            "bridge_id" => {
                device.insert("id".into(), json!(value));
            }
            "stp" => {
                device.insert("stp".into(), json!(value == "1"));
            }
            "pciid" => {
                device.insert("pciid".into(), json!(value));
            }
            "speed" => {
                device.insert("speed".into(), super::number(value));
            }
            "flags" => {
                let flags = i64::from_str_radix(value.trim_start_matches("0x"), 16).unwrap_or(0);
                device.insert("promisc".into(), json!(flags & 0x100 != 0));
            }
            "primary" | "secondary" => {
                let secondary = key == "secondary";
                let words: Vec<&str> = value.split_whitespace().collect();
                let mac = device.get("macaddress").cloned();
                let mtu = device.get("mtu").cloned();
                let kind = device.get("type").cloned().unwrap_or(json!("unknown"));
                if words.first() == Some(&"inet") {
                    let Some((entry, label)) = ipv4_entry(&words) else {
                        continue;
                    };
                    let address = entry["address"].as_str().unwrap_or_default().to_string();
                    if !secondary && !device.contains_key("ipv4") {
                        device.insert("ipv4".into(), Json::Object(entry.clone()));
                    } else if let Json::Array(list) = device
                        .entry("ipv4_secondaries")
                        .or_insert_with(|| json!([]))
                    {
                        list.push(Json::Object(entry.clone()));
                    }
                    if default_ipv4.get("address").and_then(Json::as_str) == Some(&address) {
                        for key in ["broadcast", "netmask", "network", "prefix"] {
                            default_ipv4.insert(key.into(), entry[key].clone());
                        }
                        if let Some(mac) = &mac {
                            default_ipv4.insert("macaddress".into(), mac.clone());
                        }
                        default_ipv4.insert("mtu".into(), mtu.clone().unwrap_or(Json::Null));
                        default_ipv4.insert("type".into(), kind.clone());
                        default_ipv4.insert("alias".into(), json!(label));
                    }
                    if !address.starts_with("127.") {
                        all_v4.push(json!(address));
                    }
                } else if words.first() == Some(&"inet6") && words.len() > 3 {
                    let (address, prefix, scope) = if words[2] == "peer" && words.len() > 5 {
                        let prefix = words[3].split_once('/').map(|(_, p)| p).unwrap_or_default();
                        (words[1], prefix, words[5])
                    } else {
                        let (a, p) = words[1].split_once('/').unwrap_or((words[1], ""));
                        (a, p, words[3])
                    };
                    if let Json::Array(list) = device.entry("ipv6").or_insert_with(|| json!([])) {
                        list.push(json!({"address": address, "prefix": prefix, "scope": scope}));
                    }
                    if default_ipv6.get("address").and_then(Json::as_str) == Some(address) {
                        default_ipv6.insert("prefix".into(), json!(prefix));
                        default_ipv6.insert("scope".into(), json!(scope));
                        if let Some(mac) = &mac {
                            default_ipv6.insert("macaddress".into(), mac.clone());
                        }
                        default_ipv6.insert("mtu".into(), mtu.clone().unwrap_or(Json::Null));
                        default_ipv6.insert("type".into(), kind.clone());
                    }
                    if address != "::1" {
                        all_v6.push(json!(address));
                    }
                }
            }
            _ => {}
        }
    }
    let mut facts = Facts::new();
    let names: Vec<String> = interfaces
        .iter()
        .map(|(n, _)| n.replace(':', "_"))
        .collect();
    for (name, device) in interfaces {
        facts.insert(
            format!("ansible_{}", name.replace([':', '-'], "_")),
            Json::Object(device),
        );
    }
    facts.insert("ansible_interfaces".into(), json!(names));
    facts.insert("ansible_default_ipv4".into(), Json::Object(default_ipv4));
    facts.insert("ansible_default_ipv6".into(), Json::Object(default_ipv6));
    facts.insert("ansible_all_ipv4_addresses".into(), Json::Array(all_v4));
    facts.insert("ansible_all_ipv6_addresses".into(), Json::Array(all_v6));
    for line in &ip.local_routes {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(&"local"), Some(address)) = (words.first(), words.get(1)) else {
            continue;
        };
        let list = match address.contains(':') {
            true => &mut reachable_v6,
            false => &mut reachable_v4,
        };
        if !list.contains(&json!(address)) {
            list.push(json!(address));
        }
    }
    facts.insert(
        "ansible_locally_reachable_ips".into(),
        json!({"ipv4": reachable_v4, "ipv6": reachable_v6}),
    );
    facts.insert("ansible_fibre_channel_wwn".into(), json!([]));
    facts.insert("ansible_iscsi_iqn".into(), json!(s.line("iscsi", 0).trim()));
    facts.insert("ansible_hostnqn".into(), json!(s.line("nvme", 0).trim()));
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "@@net\ndev eth0\naddress 02:fc:00:00:00:01\nmtu 1400\noperstate up\ntype 1\npciid virtio2\nspeed -1\nflags 0x1003\n\
dev lo\naddress 00:00:00:00:00:00\nmtu 65536\noperstate unknown\ntype 772\nflags 0x9\n\
@@ip\n8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \\    cache \n\
2404:6800:400a:800::1012 from :: via fd00::1 dev eth0 src fd00::2 metric 1024 pref medium\n\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n\
1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n\
4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever\n\
4: eth0    inet6 fd00::2/64 scope global nodad \\       valid_lft forever preferred_lft forever\n\
4: eth0    inet6 fe80::fc:ff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever\n\
local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 \nlocal 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 \n\
broadcast 192.0.2.255 dev eth0 proto kernel scope link src 192.0.2.2 \nlocal 192.0.2.2 dev eth0 proto kernel scope host src 192.0.2.2 \n\
local ::1 dev lo table local proto kernel metric 0 pref medium\nlocal fd00::2 dev eth0 table local proto kernel metric 0 pref medium\n\
local fe80::fc:ff:fe00:1 dev eth0 table local proto kernel metric 0 pref medium\nmulticast ff00::/8 dev eth0 table local proto kernel metric 256 pref medium\n";

    #[test]
    fn interfaces_and_defaults_as_ansible_builds_them() {
        let facts = facts(&Sections::parse(SAMPLE));
        assert_eq!(
            facts["ansible_eth0"],
            json!({"device": "eth0", "macaddress": "02:fc:00:00:00:01", "mtu": 1400, "active": true,
                   "type": "ether", "pciid": "virtio2", "speed": -1, "promisc": false,
                   "ipv4": {"address": "192.0.2.2", "broadcast": "192.0.2.255", "netmask": "255.255.255.0",
                            "network": "192.0.2.0", "prefix": "24"},
                   "ipv6": [{"address": "fd00::2", "prefix": "64", "scope": "global"},
                            {"address": "fe80::fc:ff:fe00:1", "prefix": "64", "scope": "link"}]})
        );
        assert_eq!(
            facts["ansible_lo"]["ipv4"],
            json!({"address": "127.0.0.1", "broadcast": "", "netmask": "255.0.0.0", "network": "127.0.0.0", "prefix": "8"})
        );
        assert_eq!(
            facts["ansible_default_ipv4"],
            json!({"address": "192.0.2.2", "alias": "eth0", "broadcast": "192.0.2.255", "gateway": "192.0.2.1",
                   "interface": "eth0", "macaddress": "02:fc:00:00:00:01", "mtu": 1400, "netmask": "255.255.255.0",
                   "network": "192.0.2.0", "prefix": "24", "type": "ether"})
        );
        assert_eq!(facts["ansible_default_ipv6"]["scope"], json!("global"));
        assert_eq!(facts["ansible_all_ipv4_addresses"], json!(["192.0.2.2"]));
        assert_eq!(
            facts["ansible_all_ipv6_addresses"],
            json!(["fd00::2", "fe80::fc:ff:fe00:1"])
        );
        assert_eq!(
            facts["ansible_locally_reachable_ips"],
            json!({"ipv4": ["127.0.0.0/8", "127.0.0.1", "192.0.2.2"], "ipv6": ["::1", "fd00::2", "fe80::fc:ff:fe00:1"]})
        );
        assert_eq!(facts["ansible_interfaces"], json!(["eth0", "lo"]));
    }
}
