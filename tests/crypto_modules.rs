//! community.crypto's `openssl_privatekey`, `openssl_csr` and `x509_certificate` run by
//! the real binary over SSH against a Debian container with systemd as PID 1 (one
//! container, shared by the tests of this file), checked there with its `openssl`.

mod common;

use common::nspawn::SystemdFleet;
use common::ssh::or_skip;

const PRIVATE_KEY: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_privatekey:
        path: /etc/ssl/private/bosun-test.pem
        size: 2048
      register: rsa
    - openssl_privatekey:
        path: /etc/ssl/private/bosun-test-ec.pem
        type: ECC
        curve: secp384r1
        passphrase: 'it''s secret'
        owner: root
        group: ssl-cert
        mode: '0640'
      register: ecc
    - when: not ansible_check_mode
      copy:
        dest: /tmp/bosun-test-key-results
        content: |
          {{ rsa.filename }} {{ rsa.type }} {{ rsa.size }} {{ rsa.fingerprint.sha256 }}
          {{ ecc.type }} {{ ecc.curve }} {{ ecc.fingerprint | length }}
";

#[test]
fn openssl_privatekey_generates_keeps_and_replaces_a_key() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let rsa = "/etc/ssl/private/bosun-test.pem";
    let ecc = "/etc/ssl/private/bosun-test-ec.pem";
    fleet.on_host(
        0,
        &format!("getent group ssl-cert || groupadd ssl-cert; rm -f {rsa} {ecc}"),
    );

    let out = fleet.play_expecting("key.yml", PRIVATE_KEY, &["--check"], 2);
    assert_eq!(
        fleet.on_host(0, &format!("ls {rsa} {ecc} 2>&1 | grep -c 'No such file'")),
        "2",
        "check mode wrote nothing: {out}"
    );

    let out = fleet.play_expecting("key.yml", PRIVATE_KEY, &[], 3);
    assert!(!out.contains("PRIVATE KEY"), "no key in the output: {out}");
    assert_eq!(
        fleet.on_host(
            0,
            &format!(
                "head -1 {rsa}; stat -c '%a %U %G' {rsa}; openssl rsa -in {rsa} -check -noout"
            )
        ),
        "-----BEGIN RSA PRIVATE KEY-----\n600 root root\nRSA key ok",
        "PKCS#1 as cryptography writes it, mode 0600 by default"
    );
    assert_eq!(
        fleet.on_host(0, &format!("sed -n 1,2p {ecc}; stat -c '%a %U %G' {ecc}")),
        "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n640 root ssl-cert"
    );
    assert!(
        fleet
            .on_host(
                0,
                &format!("openssl ec -in {ecc} -passin pass:\"it's secret\" -noout -text 2>&1")
            )
            .contains("NIST CURVE: P-384"),
        "the passphrase opens it"
    );
    let fingerprint = fleet.on_host(
        0,
        &format!("openssl pkey -in {rsa} -pubout -outform DER | sha256sum | cut -c1-64 | sed 's/../&:/g; s/:$//'"),
    );
    let results = fleet.on_host(0, "cat /tmp/bosun-test-key-results");
    assert_eq!(
        results,
        format!("{rsa} RSA 2048 {fingerprint}\nECC secp384r1 14"),
        "the fingerprints are of the public key's DER, all 14 of hashlib's"
    );
    let before = fleet.on_host(0, &format!("sha1sum {rsa} {ecc}"));

    fleet.play_expecting("key.yml", PRIVATE_KEY, &[], 0);
    assert_eq!(
        fleet.on_host(0, &format!("sha1sum {rsa} {ecc}")),
        before,
        "the keys kept"
    );

    fleet.on_host(0, &format!("chmod 0644 {rsa}"));
    let out = fleet.play_expecting("key.yml", PRIVATE_KEY, &[], 1);
    assert_eq!(
        fleet.on_host(0, &format!("stat -c %a {rsa}; sha1sum {rsa} {ecc}")),
        format!("600\n{before}"),
        "{out}"
    );

    let bigger = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_privatekey: path=/etc/ssl/private/bosun-test.pem size=3072 backup=true
";
    let unchanged = fleet.on_host(0, &format!("sha1sum {rsa}"));
    fleet.play_expecting("bigger.yml", bigger, &["--check"], 1);
    assert_eq!(fleet.on_host(0, &format!("sha1sum {rsa}")), unchanged);
    let out = fleet.play_expecting("bigger.yml", bigger, &["--diff"], 1);
    assert!(
        out.contains("-        \"size\": 2048") && out.contains("+        \"size\": 3072"),
        "the old and the new key in the diff: {out}"
    );
    assert!(
        fleet
            .on_host(0, &format!("openssl rsa -in {rsa} -noout -text | head -1"))
            .contains("3072 bit"),
        "a key of the wrong size is replaced"
    );
    assert_eq!(
        fleet.on_host(0, &format!("ls {rsa}.*~ | wc -l")),
        "1",
        "backed up"
    );
    fleet.play_expecting("bigger.yml", bigger, &[], 0);

    let failing = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_privatekey: path=/etc/ssl/private/bosun-test.pem type=Ed25519 regenerate=fail
";
    fleet.play_fails("fail.yml", failing, &[], "Key has wrong type and/or size.");
    let no_dir = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_privatekey: path=/nonexistent/k.pem
";
    fleet.play_fails(
        "nodir.yml",
        no_dir,
        &[],
        "The directory /nonexistent does not exist or the file is not a directory",
    );
    let bad_curve = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_privatekey: path=/tmp/k.pem type=ECC curve=P-256
";
    fleet.play_fails("curve.yml", bad_curve, &[], "value of curve must be one of");

    let absent = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_privatekey: path=/etc/ssl/private/bosun-test-ec.pem state=absent
";
    fleet.play_expecting("absent.yml", absent, &[], 1);
    assert_eq!(
        fleet.on_host(0, &format!("test -e {ecc} && echo there || echo gone")),
        "gone"
    );
    fleet.play_expecting("absent.yml", absent, &[], 0);
}

const REQUEST: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_privatekey:
        path: /etc/ssl/private/bosun-csr.pem
        type: ECC
        curve: secp256r1
    - community.crypto.openssl_csr:
        path: /etc/ssl/bosun-test.csr
        privatekey_path: /etc/ssl/private/bosun-csr.pem
        common_name: '{{ cn }}'
        organization_name: Example
        subject:
          L: Town
        subject_alt_name: ['DNS:{{ cn }}', 'DNS:example.com', 'IP:10.0.0.1']
        key_usage: [digitalSignature, keyEncipherment]
        key_usage_critical: true
        extended_key_usage: [serverAuth]
        basic_constraints: ['CA:FALSE']
      register: csr
    - when: not ansible_check_mode
      copy:
        dest: /tmp/bosun-test-csr-results
        content: '{{ csr.subject | to_json }} {{ csr.subjectAltName | to_json }} {{ csr.privatekey }}'
";

#[test]
fn openssl_csr_makes_a_request_and_keeps_it_while_it_says_the_same() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let csr = "/etc/ssl/bosun-test.csr";
    fleet.on_host(0, &format!("rm -f {csr} /etc/ssl/private/bosun-csr.pem"));
    let www = ["-e", "cn=www.example.com"];

    fleet.play_expecting("csr.yml", REQUEST, &[&www[..], &["--check"]].concat(), 2);
    assert_eq!(
        fleet.on_host(0, &format!("test -e {csr} && echo there || echo none")),
        "none"
    );

    fleet.play_expecting("csr.yml", REQUEST, &www, 3);
    let text = fleet.on_host(
        0,
        &format!("openssl req -in {csr} -noout -text; openssl req -in {csr} -noout -verify 2>&1"),
    );
    for expected in [
        "Subject: O = Example, CN = www.example.com, L = Town",
        "DNS:www.example.com, DNS:example.com, IP Address:10.0.0.1",
        "X509v3 Key Usage: critical",
        "Digital Signature, Key Encipherment",
        "TLS Web Server Authentication",
        "CA:FALSE",
        "verify OK",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    let key_pub = fleet.on_host(0, "openssl pkey -in /etc/ssl/private/bosun-csr.pem -pubout");
    assert_eq!(
        fleet.on_host(0, &format!("openssl req -in {csr} -noout -pubkey")),
        key_pub,
        "signed with the key"
    );
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bosun-test-csr-results"),
        "[[\"O\", \"Example\"], [\"CN\", \"www.example.com\"], [\"L\", \"Town\"]] \
         [\"DNS:www.example.com\", \"DNS:example.com\", \"IP:10.0.0.1\"] /etc/ssl/private/bosun-csr.pem"
    );
    let before = fleet.on_host(0, &format!("sha1sum {csr}"));
    fleet.play_expecting("csr.yml", REQUEST, &www, 0);
    assert_eq!(fleet.on_host(0, &format!("sha1sum {csr}")), before, "kept");

    let other = ["-e", "cn=mail.example.com"];
    let out = fleet.play_expecting(
        "csr.yml",
        REQUEST,
        &[&other[..], &["--check", "--diff"]].concat(),
        1,
    );
    assert_eq!(
        fleet.on_host(0, &format!("sha1sum {csr}")),
        before,
        "check mode kept it: {out}"
    );
    let out = fleet.play_expecting("csr.yml", REQUEST, &[&other[..], &["--diff"]].concat(), 2);
    assert!(
        out.contains("-        \"commonName\": \"www.example.com\",")
            && out.contains("+        \"commonName\": \"mail.example.com\","),
        "the old and the new subject in the diff: {out}"
    );
    assert!(
        fleet
            .on_host(0, &format!("openssl req -in {csr} -noout -subject"))
            .contains("CN = mail.example.com")
    );

    let no_prefix = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_csr:
        path: /etc/ssl/bosun-test.csr
        privatekey_path: /etc/ssl/private/bosun-csr.pem
        subject_alt_name: [www.example.com]
";
    fleet.play_fails(
        "noprefix.yml",
        no_prefix,
        &[],
        "Cannot parse Subject Alternative Name \\\"www.example.com\\\" (forgot \\\"DNS:\\\" prefix?)",
    );
    let no_key = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_csr: path=/etc/ssl/bosun-test.csr privatekey_path=/nonexistent.pem CN=x
";
    fleet.play_fails(
        "nokey.yml",
        no_key,
        &[],
        "No such file or directory: '/nonexistent.pem'",
    );
}

/// What a role does to give nginx a TLS certificate: a key, a request, a self-signed
/// certificate.
const NGINX_TLS: &str = "
- hosts: all
  gather_facts: false
  vars:
    site: shop.example.com
  tasks:
    - community.crypto.openssl_privatekey:
        path: /etc/ssl/private/{{ site }}.key
        size: 2048
    - community.crypto.openssl_csr:
        path: /etc/ssl/{{ site }}.csr
        privatekey_path: /etc/ssl/private/{{ site }}.key
        common_name: '{{ site }}'
        subject_alt_name: ['DNS:{{ site }}', 'DNS:www.{{ site }}']
    - community.crypto.x509_certificate:
        path: /etc/ssl/certs/{{ site }}.crt
        privatekey_path: /etc/ssl/private/{{ site }}.key
        csr_path: /etc/ssl/{{ site }}.csr
        provider: selfsigned
        selfsigned_not_after: +365d
      register: cert
    - when: not ansible_check_mode
      copy:
        dest: /tmp/bosun-test-cert-results
        content: '{{ cert.notAfter }} {{ cert.serial_number }} {{ cert.filename }}'
";

#[test]
fn x509_certificate_gives_nginx_a_self_signed_certificate() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    let crt = "/etc/ssl/certs/shop.example.com.crt";
    let key = "/etc/ssl/private/shop.example.com.key";
    fleet.on_host(
        0,
        &format!("rm -f {crt} {key} /etc/ssl/shop.example.com.csr"),
    );

    // As in Ansible, the provider reads the request and key even in check mode, so a
    // first run in check mode stops there.
    fleet.play_fails(
        "tls.yml",
        NGINX_TLS,
        &["--check"],
        "The certificate signing request file /etc/ssl/shop.example.com.csr does not exist",
    );
    assert_eq!(
        fleet.on_host(0, &format!("test -e {key} && echo there || echo none")),
        "none"
    );

    fleet.play_expecting("tls.yml", NGINX_TLS, &[], 4);
    let text = fleet.on_host(0, &format!("openssl x509 -in {crt} -noout -text"));
    for expected in [
        "Subject: CN = shop.example.com",
        "Issuer: CN = shop.example.com",
        "DNS:shop.example.com, DNS:www.shop.example.com",
        "X509v3 Subject Key Identifier",
        "Version: 3 (0x2)",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("Authority Key Identifier"),
        "self-signed: none, as cryptography makes it"
    );
    assert_eq!(
        fleet.on_host(0, &format!("openssl x509 -in {crt} -noout -pubkey")),
        fleet.on_host(0, &format!("openssl pkey -in {key} -pubout")),
        "the certificate is for the key"
    );
    assert!(
        fleet
            .on_host(
                0,
                &format!("openssl verify -check_ss_sig -CAfile {crt} {crt}")
            )
            .ends_with("OK")
    );
    let days = fleet.on_host(
        0,
        &format!("echo $(( ($(date -d \"$(openssl x509 -in {crt} -noout -enddate | cut -d= -f2)\" +%s) - $(date +%s)) / 86400 ))"),
    );
    assert!(
        days == "364" || days == "365",
        "valid for a year: {days} days"
    );
    let results = fleet.on_host(0, "cat /tmp/bosun-test-cert-results");
    let serial = fleet.on_host(
        0,
        &format!("openssl x509 -in {crt} -noout -serial | cut -d= -f2"),
    );
    let serial_decimal = u64::from_str_radix(&serial, 16).expect("a 63-bit serial");
    let end = fleet.on_host(
        0,
        &format!(
            "date -u -d \"$(openssl x509 -in {crt} -noout -enddate | cut -d= -f2)\" +%Y%m%d%H%M%SZ"
        ),
    );
    assert_eq!(results, format!("{end} {serial_decimal} {crt}"));

    let before = fleet.on_host(0, &format!("sha1sum {crt}"));
    fleet.play_expecting("tls.yml", NGINX_TLS, &[], 0);
    assert_eq!(fleet.on_host(0, &format!("sha1sum {crt}")), before, "kept");

    let content = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.x509_certificate:
        path: /etc/ssl/certs/shop.example.com.crt
        privatekey_path: /etc/ssl/private/shop.example.com.key
        csr_path: /etc/ssl/shop.example.com.csr
        provider: selfsigned
        return_content: true
      register: cert
    - community.crypto.openssl_privatekey:
        path: /etc/ssl/private/shop.example.com.key
        size: 2048
        return_content: true
      register: key
    - copy:
        dest: /tmp/bosun-test-contents
        content: '{{ cert.certificate }}{{ key.privatekey }}'
";
    fleet.play_expecting("content.yml", content, &[], 1);
    assert_eq!(
        fleet.on_host(0, "cat /tmp/bosun-test-contents"),
        fleet.on_host(0, &format!("cat {crt} {key}")),
        "return_content gives the files kept"
    );
    fleet.on_host(0, &format!("mv {crt} {crt}.saved"));
    fleet.play_expecting("tls.yml", NGINX_TLS, &["--check"], 1);
    assert_eq!(
        fleet.on_host(0, &format!("test -e {crt} && echo there || echo none")),
        "none"
    );
    fleet.on_host(0, &format!("mv {crt}.saved {crt}"));

    // A new key makes a new request and a new certificate.
    fleet.on_host(0, &format!("rm -f {key}"));
    let out = fleet.play_expecting("tls.yml", NGINX_TLS, &["--diff"], 4);
    assert!(
        out.contains("-    \"serial_number\":"),
        "the old certificate in the diff: {out}"
    );
    assert_ne!(fleet.on_host(0, &format!("sha1sum {crt}")), before);
    fleet.play_expecting("tls.yml", NGINX_TLS, &[], 0);

    let no_csr = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.x509_certificate:
        path: /etc/ssl/certs/x.crt
        privatekey_path: /etc/ssl/private/shop.example.com.key
        csr_path: /nonexistent.csr
        provider: selfsigned
";
    fleet.play_fails(
        "nocsr.yml",
        no_csr,
        &[],
        "The certificate signing request file /nonexistent.csr does not exist",
    );
    let acme = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.x509_certificate: path=/etc/ssl/certs/x.crt provider=acme
";
    fleet.play_fails(
        "acme.yml",
        acme,
        &[],
        "value of provider must be one of: ownca, selfsigned",
    );
}

const OWN_CA: &str = "
- hosts: all
  gather_facts: false
  tasks:
    - community.crypto.openssl_privatekey: {path: /root/bosun-ca.key, type: ECC, curve: secp384r1}
    - community.crypto.openssl_csr:
        path: /root/bosun-ca.csr
        privatekey_path: /root/bosun-ca.key
        common_name: Bosun Test CA
        use_common_name_for_san: false
        basic_constraints: ['CA:TRUE']
        basic_constraints_critical: true
        key_usage: [keyCertSign, cRLSign]
        key_usage_critical: true
    - community.crypto.x509_certificate:
        path: /root/bosun-ca.crt
        privatekey_path: /root/bosun-ca.key
        csr_path: /root/bosun-ca.csr
        provider: selfsigned
    - community.crypto.openssl_privatekey: {path: /root/bosun-leaf.key, type: Ed25519}
    - community.crypto.openssl_csr:
        path: /root/bosun-leaf.csr
        privatekey_path: /root/bosun-leaf.key
        CN: leaf.example.com
    - community.crypto.x509_certificate:
        path: /root/bosun-leaf.crt
        csr_path: /root/bosun-leaf.csr
        provider: ownca
        ownca_path: /root/bosun-ca.crt
        ownca_privatekey_path: /root/bosun-ca.key
        ownca_not_after: +30d
";

#[test]
fn x509_certificate_signs_with_its_own_ca() {
    let Some(fleet) = or_skip(SystemdFleet::shared()) else {
        return;
    };
    fleet.on_host(0, "rm -f /root/bosun-ca.* /root/bosun-leaf.*");
    fleet.play_expecting("ca.yml", OWN_CA, &[], 6);
    assert_eq!(
        fleet.on_host(
            0,
            "openssl verify -CAfile /root/bosun-ca.crt /root/bosun-leaf.crt"
        ),
        "/root/bosun-leaf.crt: OK"
    );
    let leaf = fleet.on_host(0, "openssl x509 -in /root/bosun-leaf.crt -noout -text");
    assert!(
        leaf.contains("Issuer: CN = Bosun Test CA") && leaf.contains("DNS:leaf.example.com"),
        "{leaf}"
    );
    let ca_ski = fleet.on_host(
        0,
        "openssl x509 -in /root/bosun-ca.crt -noout -ext subjectKeyIdentifier | tail -1",
    );
    let leaf_aki = fleet.on_host(
        0,
        "openssl x509 -in /root/bosun-leaf.crt -noout -ext authorityKeyIdentifier | tail -1",
    );
    assert_eq!(
        leaf_aki.trim(),
        ca_ski.trim(),
        "the authority key identifier names the CA's key"
    );
    fleet.play_expecting("ca.yml", OWN_CA, &[], 0);
}
