#!/usr/bin/env bash
# Starts the shared workloads' reference server (../shared/WORKLOADS.md): nginx on
# 127.0.0.1:18080, one worker, sendfile on, serving from a tmpfs folder the seed page as
# /index.html (347 bytes), /tiny.txt (1 byte), /1m.bin (1 MiB) and /big.bin
# (1 GiB of random bytes). Needs Debian's nginx (`apt-get install nginx-light`).
#
#   crates/cute-bench/nginx/start.sh        # start (or restart)
#   cargo run --release -p cute-bench -- --base-url http://127.0.0.1:18080 net
#   crates/cute-bench/nginx/start.sh stop
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${CUTE_NGINX_ROOT:-/dev/shm/cute-nginx}"
nginx="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"

if [[ -f "$root/nginx.pid" ]]; then
    "$nginx" -p "$root" -c "$root/nginx.conf" -s stop 2>/dev/null || true
    sleep 0.2
fi
[[ "${1:-}" == "stop" ]] && exit 0

mkdir -p "$root/www" "$root/logs"
cp "$here/../../cute-httpbin/src/page.html" "$root/www/index.html"
printf 'x' > "$root/www/tiny.txt"
[[ -s "$root/www/1m.bin" ]] || head -c $((1 << 20)) /dev/urandom > "$root/www/1m.bin"
[[ -s "$root/www/big.bin" ]] || head -c $((1 << 30)) /dev/urandom > "$root/www/big.bin"
sed "s|@ROOT@|$root|g" "$here/nginx.conf" > "$root/nginx.conf"
"$nginx" -p "$root" -c "$root/nginx.conf"
echo "nginx serving $root/www on http://127.0.0.1:18080"
