# NATS with JetStream for the stream worker's tests (tests/worker.rs):
# Debian's nats-server, started on 127.0.0.1 with its store in a
# throw-away folder (on its own port: a packaged service may hold 4222),
# unless ours already answers there.
apt_install nats-server
nats_port="${REMPART_NATS_PORT:-14222}"
if ! (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null; then
    nats_dir=$(mktemp -d /tmp/rempart-nats.XXXXXX)
    nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$nats_dir" >"$nats_dir/log" 2>&1 &
    for _ in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break
        sleep 0.2
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null || { cat "$nats_dir/log"; echo "nats-server did not start"; return 1; }
fi
export REMPART_TEST_NATS="nats://127.0.0.1:$nats_port"
echo "   $(nats-server --version 2>/dev/null) on 127.0.0.1:$nats_port (JetStream)"
