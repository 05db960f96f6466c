#!/bin/sh
# Installs ant-node as N systemd services on this host, or removes it again
# (docs/OPERATIONS.md, "Installing with packaging/install.sh").
#
#   install.sh install   --binary PATH [--instances N] [--base-port P] [--listen-host H]
#                        [--user NAME] [--no-start] [--root DIR]
#   install.sh uninstall [--purge] [--user NAME] [--root DIR]
#
# install: creates the system user (default `ant`), puts the binary at
# /opt/ant-node/bin/ant-node owned by that user (the upgrade replaces it in place), the
# unit ant-node@.service in /etc/systemd/system, one env file per instance
# /etc/ant-node/<i>.env with ANT_LISTEN=<host>:<base-port + i - 1> (an existing env file is
# kept: it may hold the operator's settings), the state dirs /var/lib/ant-node/<i> and the
# shared cache /var/lib/ant-node/upgrades (0700, the user's), then enables and starts
# ant-node@1..N. Run again to change the binary or add instances; nothing is lost.
# uninstall: stops and disables every ant-node@ instance and removes the binary, the unit
# and the docs. The node data (/var/lib/ant-node: identities and chunk stores), the env
# files and the user are kept unless --purge.
# --root DIR works on a file-system tree at DIR instead of this host (images, tests): the
# user goes into DIR/etc/passwd, units are enabled with systemctl --root, nothing starts.
set -eu

die() { echo "install.sh: $*" >&2; exit 2; }
say() { echo "install.sh: $*"; }

here=$(cd "$(dirname "$0")" && pwd)
action=${1:-}
[ $# -gt 0 ] && shift
binary='' instances=1 base_port=12000 listen_host=0.0.0.0 user=ant start=1 purge=0 root=''
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=${2:?}; shift 2 ;;
    --instances) instances=${2:?}; shift 2 ;;
    --base-port) base_port=${2:?}; shift 2 ;;
    --listen-host) listen_host=${2:?}; shift 2 ;;
    --user) user=${2:?}; shift 2 ;;
    --no-start) start=0; shift ;;
    --purge) purge=1; shift ;;
    --root) root=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

case "$instances" in ''|*[!0-9]*) die "--instances must be a number" ;; esac
case "$base_port" in ''|*[!0-9]*) die "--base-port must be a number" ;; esac
if [ "$instances" -lt 1 ] || [ "$instances" -gt 1000 ]; then die "--instances must be 1..1000"; fi
if [ "$base_port" -lt 1 ] || [ $((base_port + instances - 1)) -gt 65535 ]; then
  die "ports $base_port..$((base_port + instances - 1)) do not fit in 1..65535"
fi
case "$user" in ''|-*|*[!a-z0-9_-]*) die "--user must be a plain lower-case name" ;; esac
case "$listen_host" in *[!0-9a-fA-F.:]*|'') die "--listen-host must be a numeric address" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root"
if [ -n "$root" ]; then
  [ -d "$root" ] || die "--root $root is not a directory"
  root=$(cd "$root" && pwd)
  [ "$root" != / ] || root=''
fi

bindir="$root/opt/ant-node/bin"
docdir="$root/opt/ant-node/share/doc"
unitdir="$root/etc/systemd/system"
confdir="$root/etc/ant-node"
statedir="$root/var/lib/ant-node"

# systemctl against the live manager, or against the tree with --root. Live but not
# booted with systemd (a container without it): say so and leave the units to the operator.
sysctl() {
  if [ -n "$root" ]; then
    systemctl --root="$root" "$@"
  elif [ -d /run/systemd/system ]; then
    systemctl "$@"
  else
    say "systemd is not running here, skipped: systemctl $*"
  fi
}

reload() {
  if [ -z "$root" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
}

user_field() { # user_field NAME FIELD: from the tree's passwd, or the host's user database
  if [ -n "$root" ]; then
    awk -F: -v u="$1" -v f="$2" '$1 == u { print $f }' "$root/etc/passwd"
  else
    getent passwd "$1" | cut -d: -f"$2"
  fi
}

ensure_user() {
  if [ -n "$(user_field "$user" 3)" ]; then
    return
  fi
  nologin=/usr/sbin/nologin
  [ -x "$root$nologin" ] || nologin=/bin/false
  if [ -n "$root" ]; then
    useradd --prefix "$root" --system --user-group --no-create-home \
      --home-dir /var/lib/ant-node --shell "$nologin" "$user"
  else
    useradd --system --user-group --no-create-home --home-dir /var/lib/ant-node \
      --shell "$nologin" "$user"
  fi
  say "created system user $user"
}

do_install() {
  [ -n "$binary" ] || die "install needs --binary PATH (the static ant-node)"
  if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then die "$binary is not an executable file"; fi
  version=$("$binary" --version 2>/dev/null) || die "$binary --version failed"
  case "$version" in "ant-node "*) ;; *) die "$binary is not ant-node ($version)" ;; esac
  [ -f "$here/systemd/ant-node@.service" ] || die "ant-node@.service not found beside install.sh"

  ensure_user
  uid=$(user_field "$user" 3)
  gid=$(user_field "$user" 4)
  if [ -z "$uid" ] || [ -z "$gid" ]; then die "cannot resolve user $user"; fi

  # The binary's directory belongs to the service user: the upgrade writes the new binary
  # and its .backup beside the old one. Nothing else may live there.
  install -d -m 0755 "$root/opt/ant-node" "$docdir"
  install -d -m 0755 -o "$uid" -g "$gid" "$bindir"
  tmp="$bindir/.ant-node.install.$$"
  install -m 0755 -o "$uid" -g "$gid" "$binary" "$tmp"
  mv -f "$tmp" "$bindir/ant-node"
  say "installed $version to /opt/ant-node/bin/ant-node"
  [ -f "$here/../docs/OPERATIONS.md" ] && install -m 0644 "$here/../docs/OPERATIONS.md" "$docdir/"

  unit=ant-node@.service
  install -d -m 0755 "$unitdir" "$confdir"
  install -m 0644 "$here/systemd/$unit" "$unitdir/$unit"

  # State: the unit's StateDirectory= would create these too, but only at first start and
  # only for a started instance; creating them here gives the right owner from the start.
  install -d -m 0755 "$root/var/lib"
  install -d -m 0700 -o "$uid" -g "$gid" "$statedir" "$statedir/upgrades"

  i=1
  while [ "$i" -le "$instances" ]; do
    port=$((base_port + i - 1))
    case "$listen_host" in *:*) addr="[$listen_host]:$port" ;; *) addr="$listen_host:$port" ;; esac
    install -d -m 0700 -o "$uid" -g "$gid" "$statedir/$i"
    if [ -e "$confdir/$i.env" ]; then
      say "kept $confdir/$i.env"
    else
      printf 'ANT_LISTEN=%s\n' "$addr" > "$confdir/$i.env.tmp"
      chmod 0644 "$confdir/$i.env.tmp"
      mv -f "$confdir/$i.env.tmp" "$confdir/$i.env"
    fi
    i=$((i + 1))
  done

  reload
  units=''
  i=1
  while [ "$i" -le "$instances" ]; do units="$units ant-node@$i.service"; i=$((i + 1)); done
  # shellcheck disable=SC2086 # one word per unit
  sysctl enable $units
  if [ "$start" -eq 1 ] && [ -z "$root" ]; then
    # shellcheck disable=SC2086
    sysctl restart $units
  fi
  say "enabled$units (ports $base_port..$((base_port + instances - 1)))"
}

do_uninstall() {
  units=''
  if [ -d "$unitdir/multi-user.target.wants" ]; then
    for link in "$unitdir"/multi-user.target.wants/ant-node@*.service; do
      [ -e "$link" ] || [ -L "$link" ] || continue
      units="$units $(basename "$link")"
    done
  fi
  if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    running=$(systemctl list-units --all --plain --no-legend 'ant-node@*.service' | awk '{print $1}')
    units="$units $running"
  fi
  if [ -n "$(echo "$units" | tr -d ' ')" ]; then
    # shellcheck disable=SC2086
    sysctl disable $units >/dev/null 2>&1 || true
    if [ -z "$root" ]; then
      # shellcheck disable=SC2086
      sysctl stop $units || true
    fi
  fi
  rm -f "$unitdir/ant-node@.service"
  rm -rf "$root/opt/ant-node"
  reload
  say "removed the binary and the unit"
  if [ "$purge" -eq 1 ]; then
    rm -rf "$statedir" "$confdir"
    if [ -n "$(user_field "$user" 3)" ]; then
      if [ -n "$root" ]; then userdel --prefix "$root" "$user"; else userdel "$user"; fi
    fi
    say "purged /var/lib/ant-node, /etc/ant-node and user $user"
  else
    say "kept /var/lib/ant-node (node identities and data), /etc/ant-node and user $user; --purge removes them"
  fi
}

case "$action" in
  install) do_install ;;
  uninstall) do_uninstall ;;
  *) die "usage: install.sh install|uninstall [options] (see --help)" ;;
esac
