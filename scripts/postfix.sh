#!/usr/bin/env bash
# A private Postfix on loopback for the SMTP tests (Debian's postfix package, run as root).
#
#   scripts/postfix.sh start PORT   starts it on 127.0.0.1:PORT (STARTTLS offered with a self-signed certificate,
#                                   every message accepted and discarded, one log line per delivery in
#                                   /tmp/hygie-postfix/maillog); prints the log path
#   scripts/postfix.sh stop         stops it
#
# Postfix only runs a configuration directory listed in the main one's alternate_config_directories, hence the
# fixed directory /tmp/hygie-postfix, which this script registers once.
set -euo pipefail
dir=/tmp/hygie-postfix
conf=$dir/conf
case "${1:-}" in
start)
    port=${2:?port}
    command -v postfix >/dev/null || { echo "postfix is not installed"; exit 1; }
    postfix -c "$conf" stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    mkdir -p "$conf" "$dir/queue" "$dir/data"
    chown postfix "$dir/data"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" -keyout "$conf/key.pem" \
        -out "$conf/cert.pem" >/dev/null 2>&1
    cat >"$conf/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = hygie-test.localdomain
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = discard:accepted by the test relay
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
smtpd_tls_cert_file = $conf/cert.pem
smtpd_tls_key_file = $conf/key.pem
smtpd_tls_security_level = may
CONF
    sed "s/^smtp      inet  n       -       y       -       -       smtpd/127.0.0.1:$port inet n - n - - smtpd/" \
        /etc/postfix/master.cf >"$conf/master.cf"
    current=$(postconf -h alternate_config_directories)
    case " $current " in *" $conf "* | *",$conf"* | *"$conf,"*) ;; *) postconf -e "alternate_config_directories = $current $conf" ;; esac
    postfix -c "$conf" set-permissions >/dev/null 2>&1 || true
    postfix -c "$conf" start >/dev/null 2>&1 || { echo "postfix did not start"; exit 1; }
    echo "$dir/maillog"
    ;;
stop)
    postfix -c "$conf" stop >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: $0 start PORT | stop"
    exit 2
    ;;
esac
