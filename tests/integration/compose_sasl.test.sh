#!/usr/bin/env bash
# tests/integration/compose_sasl.test.sh — the SASL/SCRAM profile of the compose stack
# (docker-compose.sasl.yml on top of docker-compose.yml), checked statically because Docker does
# not run on this project's machines: both files parse, the override merges the way Compose
# merges (maps key by key, command replaced), redpanda-init makes the SCRAM user a superuser,
# creates it, switches SASL on and creates the 3-partition topic as that user, and ingest-api and
# the worker get settings that lib/kafka accepts (checked by starting ingest-api with them until
# its configuration is loaded) with the password taken from the environment, never from git.
# Prints `compose_sasl: N passed, M failed`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN_DIR=${BIN_DIR:-build/bin}
export BIN_DIR

exec python3 - <<'PY'
import os, re, subprocess, sys

try:
    import yaml
except ImportError:
    print("compose_sasl: python3-yaml is missing (apt-get install python3-yaml)")
    print("compose_sasl: 0 passed, 1 failed")
    sys.exit(1)

passed = failed = 0

def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")
    return ok

def finish():
    print(f"compose_sasl: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

docs = {}
for path in ("docker-compose.yml", "docker-compose.sasl.yml"):
    try:
        with open(path) as f:
            docs[path] = yaml.safe_load(f)
        check(isinstance(docs[path], dict), f"{path} parses as a YAML mapping")
    except Exception as e:
        check(False, f"{path} parses: {e}")
        finish()

def env_of(s):
    env = s.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: str(v) for k, v in env.items()}

# Compose's merge of an override: mappings key by key (environment), sequences such as command
# replaced, new services added.
base = docs["docker-compose.yml"].get("services") or {}
over = docs["docker-compose.sasl.yml"].get("services") or {}
check(set(over) <= set(base), "the override only changes services docker-compose.yml defines")
merged = {}
for name, s in base.items():
    m = dict(s or {})
    o = over.get(name) or {}
    for k, v in o.items():
        if k == "environment":
            e = env_of(m)
            e.update(env_of(o))
            m[k] = e
        else:
            m[k] = v
    merged[name] = m

init = merged.get("redpanda-init", {})
cmd = " ".join(str(x) for x in (init.get("command") or []))
check("cluster config set superusers" in cmd, "redpanda-init makes the SCRAM user a superuser")
check(re.search(r"acl user create \S+ -p \S+ --mechanism", cmd) is not None,
      "redpanda-init creates the SCRAM user with its password and mechanism")
check("cluster config set enable_sasl true" in cmd, "redpanda-init switches SASL on")
check(re.search(r"topic create events --partitions 3\b", cmd) is not None,
      "redpanda-init creates the events topic with 3 partitions")
check(all(f"-X {k}=" in cmd for k in ("user", "pass", "sasl.mechanism")),
      "redpanda-init talks to the Kafka API with SASL credentials (user, pass, mechanism)")
check(cmd.index("enable_sasl") < cmd.index("topic create"),
      "the topic is created after SASL is on (as the SCRAM user)")
check(init.get("entrypoint") == ["/bin/bash", "-c"], "redpanda-init still runs its command in bash")
ienv = env_of(init)
check(ienv.get("KAFKA_SASL_MECHANISM") in ("SCRAM-SHA-256", "SCRAM-SHA-512"),
      "redpanda-init: a SCRAM mechanism Redpanda offers")

for name in ("ingest-api", "worker"):
    e = env_of(merged.get(name, {}))
    check(e.get("KAFKA_SECURITY_PROTOCOL") == "SASL_PLAINTEXT", f"{name}: KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT")
    check(e.get("KAFKA_SASL_MECHANISM") == ienv.get("KAFKA_SASL_MECHANISM"),
          f"{name}: the same SASL mechanism as the broker's user")
    check(e.get("KAFKA_SASL_USERNAME") == ienv.get("KAFKA_SASL_USERNAME") and
          e.get("KAFKA_SASL_PASSWORD") == ienv.get("KAFKA_SASL_PASSWORD"),
          f"{name}: the broker user's name and password")
    check(re.fullmatch(r"\$\{KAFKA_SASL_PASSWORD:\?[^}]+\}", e.get("KAFKA_SASL_PASSWORD", "")) is not None,
          f"{name}: the password comes from the environment (required, no default in git)")
    check(e.get("KAFKA_BROKERS") == "redpanda:9092" and e.get("DATABASE_URL", "").startswith("postgresql://"),
          f"{name}: the rest of its environment is kept (KAFKA_BROKERS, DATABASE_URL)")
check("KAFKA_SECURITY_PROTOCOL" not in env_of(merged.get("graphql-api", {})),
      "graphql-api (no Kafka client) is unchanged")

# lib/kafka accepts these settings: start ingest-api with them (a dummy password) and see it get
# past its configuration (a bad value exits 2 at once, naming the variable).
e = {k: v for k, v in env_of(merged.get("ingest-api", {})).items() if k.startswith("KAFKA_SASL") or k == "KAFKA_SECURITY_PROTOCOL"}
e["KAFKA_SASL_USERNAME"] = "analytics"
e["KAFKA_SASL_PASSWORD"] = "dummy-password-for-the-check"
import socket
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = str(sock.getsockname()[1])
sock.close()
env = dict(os.environ, **e, KAFKA_BROKERS="127.0.0.1:9", INGEST_PORT=port, INGEST_REUSEPORT="false",
           REDIS_URL="redis://127.0.0.1:9/0", DATABASE_URL="postgresql://x@127.0.0.1:9/x")
try:
    p = subprocess.run([os.path.join(os.environ["BIN_DIR"], "ingest-api")], env=env, timeout=3,
                       capture_output=True, text=True)
    code, out = p.returncode, p.stderr + p.stdout
except subprocess.TimeoutExpired as t:
    code, out = None, str(t.stderr or "")
check(code != 2 and "KAFKA_" not in (out if code == 2 else ""),
      f"ingest-api accepts the profile's Kafka settings (exit {code}: still running after 3 s means yes)")
finish()
PY
