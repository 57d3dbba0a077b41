//! The probe's `ip` section split back into what each of its `ip` commands printed.
//! One `ip -o -force -batch -` asks for the IPv4 and IPv6 routes to the outside, the
//! local routing table and every address, then `ip -6 route show table local` adds the
//! IPv6 local table: two processes where five ran, each command's output told apart by
//! the shape of its lines.

/// The destinations the probe asks `ip route get` about, as Ansible's collector does.
const ROUTE4_TO: &str = "8.8.8.8";
const ROUTE6_TO: &str = "2404:6800:400a:800::1012";

/// What each `ip` command of the probe printed.
#[derive(Debug, Default, PartialEq)]
pub struct IpLines<'s> {
    /// `ip -4 route get 8.8.8.8`, empty when there is no route.
    pub route4: &'s str,
    /// `ip -6 route get 2404:6800:400a:800::1012`, empty when there is no route.
    pub route6: &'s str,
    /// `ip -4` and `ip -6 route show table local`.
    pub local_routes: Vec<&'s str>,
    /// `ip -o addr`, one line per address.
    pub addresses: Vec<String>,
}

impl<'s> IpLines<'s> {
    /// Sorts `lines` by their shape: a route to one of the asked destinations starts
    /// with it, an address line with the device's index (`2: eth0 ...`), and every
    /// other line is a local route (`local ...`, `broadcast ...`).
    pub fn split(lines: &'s [String]) -> IpLines<'s> {
        let mut out = IpLines::default();
        for line in lines.iter().map(String::as_str) {
            if is_route_to(line, ROUTE4_TO) {
                out.route4 = line;
            } else if is_route_to(line, ROUTE6_TO) {
                out.route6 = line;
            } else if is_address(line) {
                out.addresses.push(line.to_string());
            } else if !line.trim().is_empty() {
                out.local_routes.push(line);
            }
        }
        out
    }
}

/// Whether `line` is `ip route get`'s answer for `destination`.
fn is_route_to(line: &str, destination: &str) -> bool {
    line.strip_prefix(destination)
        .is_some_and(|rest| rest.starts_with(' '))
}

/// Whether `line` is one of `ip -o addr`'s: the device's index, a colon, a space.
fn is_address(line: &str) -> bool {
    line.split_once(": ")
        .is_some_and(|(index, _)| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    /// The batch's output on a dual-stack host, then the IPv6 local table.
    #[test]
    fn each_command_gets_its_own_lines_back() {
        let all = lines(
            "8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \\    cache \n\
2404:6800:400a:800::1012 from :: via fd00::1 dev eth0 src fd00::2 metric 1024 pref medium\n\
local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 \n\
broadcast 192.0.2.255 dev eth0 proto kernel scope link src 192.0.2.2 \n\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n\
4: eth0    inet6 fd00::2/64 scope global nodad \\       valid_lft forever preferred_lft forever\n\
\n\
local ::1 dev lo proto kernel metric 0 pref medium\n",
        );
        let ip = IpLines::split(&all);
        assert_eq!(ip.route4, all[0]);
        assert_eq!(ip.route6, all[1]);
        assert_eq!(
            ip.local_routes,
            [
                "local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 ",
                "broadcast 192.0.2.255 dev eth0 proto kernel scope link src 192.0.2.2 ",
                "local ::1 dev lo proto kernel metric 0 pref medium",
            ]
        );
        assert_eq!(ip.addresses, all[4..6]);
    }

    /// No route out (both `route get` failed): nothing is mistaken for a default route.
    #[test]
    fn without_routes_out_the_defaults_stay_empty() {
        let all = lines("local 10.0.0.5 dev eth0 proto kernel scope host src 10.0.0.5 \n");
        let ip = IpLines::split(&all);
        assert_eq!((ip.route4, ip.route6), ("", ""));
        assert_eq!(ip.local_routes.len(), 1);
        assert!(ip.addresses.is_empty());
    }
}
