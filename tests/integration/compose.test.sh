#!/usr/bin/env bash
# tests/integration/compose.test.sh — checks docker-compose.yml and the Dockerfiles statically,
# since Docker does not run on this project's machines: the YAML parses (python3-yaml), the
# expected services exist with the right images, health checks, restart policies, dependencies
# and environment, and the root Dockerfile is a Debian multi-stage build of all four binaries that
# runs as a non-root user, with its entry script run against the build (SERVICE chooses);
# and the SASL/SCRAM profile (docker-compose.sasl.yml) merged on top, as Compose merges it.
# Secrets (issue 12 item 6): no password in the file; the `secrets` service's script is run here
# (in a temporary directory) and must make private, stable passwords and the services' URLs; the
# `migrate` script is run twice against the test stack's database (its service.env pointed
# there) and must seed once, keep the key out of its output and write it to the secrets volume.
# Uses the test stack's DATABASE_URL for that; ingest-api from BIN_DIR checks the profile's
# Kafka settings. Prints `compose: N passed, M failed`; exits 1 when any check failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN_DIR=${BIN_DIR:-build/bin}
export BIN_DIR

exec python3 - <<'PY'
import os, re, socket, stat, subprocess, sys, tempfile

try:
    import yaml
except ImportError:
    print("compose: python3-yaml is missing (apt-get install python3-yaml)")
    print("compose: 0 passed, 1 failed")
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
    print(f"compose: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

try:
    with open("docker-compose.yml") as f:
        doc = yaml.safe_load(f)
    check(isinstance(doc, dict), "docker-compose.yml parses as a YAML mapping")
except Exception as e:  # parse error: nothing else can be checked
    check(False, f"docker-compose.yml parses: {e}")
    finish()

svcs = doc.get("services") or {}
APPS = {"ingest-api": 3001, "worker": 3003, "graphql-api": 3002}
LONG_RUNNING = ["postgres", "redis", "redpanda", *APPS]

for name in ["postgres", "redis", "redpanda", "redpanda-init", "migrate", *APPS]:
    check(name in svcs, f"service {name} exists")
svcs = {k: (v or {}) for k, v in svcs.items()}
get = lambda name: svcs.get(name, {})

def env_of(s):
    env = s.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: str(v) for k, v in env.items()}

def cmd_text(s):
    parts = []
    for key in ("entrypoint", "command"):
        v = s.get(key)
        if isinstance(v, list):
            parts += [str(x) for x in v]
        elif v:
            parts.append(str(v))
    return " ".join(parts)

def dep_condition(s, dep):
    d = s.get("depends_on") or {}
    if isinstance(d, list):
        return "listed" if dep in d else None
    return (d.get(dep) or {}).get("condition", "listed") if dep in d else None

check(re.match(r"^postgres:16(\b|[.-])", str(get("postgres").get("image", ""))) is not None,
      "postgres runs PostgreSQL 16")
check(re.match(r"^redis:7(\b|[.-])", str(get("redis").get("image", ""))) is not None,
      "redis runs Redis 7")
check("redpanda" in str(get("redpanda").get("image", "")), "redpanda runs a Redpanda image")

init = cmd_text(get("redpanda-init"))
check("rpk" in init and "topic create" in init and re.search(r"\bevents\b", init) is not None,
      "redpanda-init creates the events topic with rpk")
check(re.search(r"(--partitions[ =]|-p )3\b", init) is not None, "the events topic has 3 partitions")
check(dep_condition(get("redpanda-init"), "redpanda") == "service_healthy",
      "redpanda-init waits for a healthy redpanda")

for name in LONG_RUNNING:
    s = get(name)
    check(s.get("restart") == "unless-stopped", f"{name}: restart: unless-stopped")
    hc = s.get("healthcheck") or {}
    check(bool(hc.get("test")) and not hc.get("disable"), f"{name}: has a health check")

for name, port in APPS.items():
    s = get(name)
    hc = " ".join(str(x) for x in ((s.get("healthcheck") or {}).get("test") or []))
    check("curl" in hc and re.search(rf":{port}/(healthz|readyz)\b", hc) is not None,
          f"{name}: health check curls /healthz or /readyz on {port}")
    build = s.get("build") or {}
    dockerfile = build.get("dockerfile") if isinstance(build, dict) else None
    check(dockerfile in ("Dockerfile", "./Dockerfile") and build.get("context") in (".", "./"),
          f"{name}: built from the root Dockerfile with the repository as context")
    env = env_of(s)
    check("DATABASE_URL" not in env and "REDIS_URL" not in env,
          f"{name}: no database or Redis URL (with a password) in the compose file")
    ep = s.get("entrypoint") or []
    check(ep[:2] == ["/bin/sh", "-c"] and len(ep) == 3 and
          ep[2] == f". /secrets/service.env && exec /usr/local/bin/{name}",
          f"{name}: sources /secrets/service.env (DATABASE_URL, REDIS_URL), then execs {name}")
    check("secrets:/secrets:ro" in (s.get("volumes") or []), f"{name}: mounts the secrets volume read-only")
    check(env.get("KAFKA_BROKERS") == "redpanda:9092", f"{name}: KAFKA_BROKERS points at redpanda")
    check(env.get("KAFKA_TOPIC", "events") == "events", f"{name}: topic events")
    for dep, cond in [("postgres", "service_healthy"), ("redis", "service_healthy"),
                      ("redpanda-init", "service_completed_successfully"),
                      ("migrate", "service_completed_successfully")]:
        check(dep_condition(s, dep) == cond, f"{name}: depends on {dep} ({cond})")

for name in ["ingest-api", "graphql-api"]:
    ports = [str(p) for p in (get(name).get("ports") or [])]
    check(any(p.endswith(f":{APPS[name]}") for p in ports), f"{name}: port {APPS[name]} published")

mig = get("migrate")
mtext = cmd_text(mig)
check("migrate" in mtext and "seed" in mtext, "migrate: runs analytics-admin migrate and seed")
check(mig.get("restart") in ("no", None, False), "migrate: one-shot (no restart)")
check(dep_condition(mig, "postgres") == "service_healthy", "migrate: waits for a healthy postgres")
mb = mig.get("build") or {}
mdf = mb.get("dockerfile") if isinstance(mb, dict) else None
check(mdf is not None and os.path.isfile(mdf), f"migrate: Dockerfile {mdf} exists")
check(mdf in ("Dockerfile", "./Dockerfile") and
      len({str(get(n).get("image")) for n in ["migrate", *APPS]}) == 1,
      "migrate and the services: one image of the root Dockerfile")

check(get("postgres").get("environment") is not None and
      env_of(get("postgres")).get("POSTGRES_USER") == "analytics" and
      env_of(get("postgres")).get("POSTGRES_DB") == "analytics",
      "postgres: role and database analytics")

# ---- secrets: generated on the first up, never in this file, never in a log -------------------
raw = open("docker-compose.yml").read()
check(re.search(r"(?im)^\s*POSTGRES_PASSWORD\s*:", raw) is None and ":analytics@" not in raw and
      re.search(r"requirepass\s+[\"']?[A-Za-z0-9]", raw) is None,
      "docker-compose.yml holds no password (PostgreSQL's and Redis's are generated)")
pg = env_of(get("postgres"))
check(pg.get("POSTGRES_PASSWORD_FILE") == "/secrets/pg.password", "postgres: password from the secrets volume")
check("--auth-host=scram-sha-256" in pg.get("POSTGRES_INITDB_ARGS", "") and
      "--auth-local=scram-sha-256" in pg.get("POSTGRES_INITDB_ARGS", "") and
      pg.get("POSTGRES_HOST_AUTH_METHOD") == "scram-sha-256",
      "postgres: SCRAM for every connection (initdb local and host, the image's host rule): no trust")
rd = get("redis")
check(rd.get("command") == ["redis-server", "/secrets/redis.conf"],
      "redis: started from /secrets/redis.conf (requirepass; no password on a command line)")
rhc = " ".join(str(x) for x in ((rd.get("healthcheck") or {}).get("test") or []))
check("REDISCLI_AUTH=" in rhc and "/secrets/redis.password" in rhc, "redis: the health check authenticates")
for name in ("postgres", "redis"):
    check(dep_condition(get(name), "secrets") == "service_completed_successfully",
          f"{name}: starts after the secrets exist")
check("secrets" in (doc.get("volumes") or {}), "a named volume secrets")

def script(svc):
    """The service's shell script as the container runs it ($$ is Compose's escape for $)."""
    c = get(svc).get("command")
    return (c[0] if isinstance(c, list) else str(c or "")).replace("$$", "$")

def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)

sec = get("secrets")
check(sec.get("restart") in ("no", None, False) and sec.get("entrypoint") == ["/bin/sh", "-c"],
      "secrets: a one-shot shell script")
with tempfile.TemporaryDirectory() as d:
    run = lambda svc, extra=None: subprocess.run(["/bin/sh", "-c", script(svc)],
                                                  env=dict(os.environ, SECRETS_DIR=d, **(extra or {})),
                                                  capture_output=True, text=True, timeout=120)
    p1 = run("secrets")
    check(p1.returncode == 0, f"secrets: the script runs (exit {p1.returncode}: {p1.stderr.strip()[:200]})")
    files = ["pg.password", "redis.password", "redis.conf", "service.env"]
    if check(all(os.path.isfile(os.path.join(d, f)) for f in files), "secrets: makes " + ", ".join(files)):
        pw = {f: open(os.path.join(d, f)).read() for f in files}
        check(all(mode(os.path.join(d, f)) == 0o600 for f in files) and mode(os.path.join(d, "demo")) == 0o700,
              "secrets: every file 0600, demo/ 0700")
        check(all(re.fullmatch(r"[0-9a-f]{64}", pw[f]) for f in ("pg.password", "redis.password")),
              "secrets: 256-bit random passwords")
        check(f'requirepass "{pw["redis.password"]}"' in pw["redis.conf"], "secrets: redis.conf requires that password")
        check(f"DATABASE_URL='postgresql://analytics:{pw['pg.password']}@postgres:5432/analytics'" in pw["service.env"] and
              f"REDIS_URL='redis://:{pw['redis.password']}@redis:6379/0'" in pw["service.env"],
              "secrets: service.env has both URLs with their passwords")
        check(os.stat(os.path.join(d, "pg.password")).st_uid == 999 and
              os.stat(os.path.join(d, "service.env")).st_uid == 10001,
              "secrets: owned by the container users that read them (999 postgres/redis, 10001 ours)")
        check(not any(v in p1.stdout + p1.stderr for v in pw.values()), "secrets: prints no secret")
        p2 = run("secrets")
        check(p2.returncode == 0 and open(os.path.join(d, "pg.password")).read() == pw["pg.password"] and
              open(os.path.join(d, "redis.password")).read() == pw["redis.password"],
              "secrets: a second up keeps the passwords")

    # migrate against the test stack's database: seed once, key to the volume, not to the log
    db = os.environ.get("DATABASE_URL", "")
    if check(db.startswith("postgresql://"), "migrate: the test stack's DATABASE_URL is there"):
        with open(os.path.join(d, "service.env"), "w") as f:
            f.write(f"export DATABASE_URL='{db}'\n")
        sql = lambda q: subprocess.run(["psql", db, "-XAtqc", q], capture_output=True, text=True).stdout.strip()
        demo_keys = "SELECT count(*) FROM api_keys WHERE tenant_id = 'acme-corp' AND name = 'demo'"
        before = sql(demo_keys)
        path = os.path.abspath(os.environ.get("BIN_DIR", "build/bin")) + ":" + os.environ["PATH"]
        m1 = run("migrate", {"PATH": path})
        key = open(os.path.join(d, "demo", "key")).read().strip() if os.path.isfile(os.path.join(d, "demo", "key")) else ""
        check(m1.returncode == 0 and re.fullmatch(r"ak_[0-9a-f]{12}_[0-9a-f]{32}", key) is not None,
              f"migrate: the first run seeds and writes the demo key to demo/key (exit {m1.returncode}: {m1.stderr.strip()[:200]})")
        check(key != "" and key not in m1.stdout + m1.stderr and "demo/key" in m1.stdout,
              "migrate: its output says where the key went and never shows it")
        check(mode(os.path.join(d, "demo", "key")) == 0o600 if key else False, "migrate: demo/key is 0600")
        check(not os.path.exists(os.path.join(d, "demo", "seed.out")), "migrate: no copy of the seed output is left")
        after1 = sql(demo_keys)
        m2 = run("migrate", {"PATH": path})
        check(m2.returncode == 0 and sql(demo_keys) == after1 and after1 != before and
              open(os.path.join(d, "demo", "key")).read().strip() == key,
              f"migrate: a second up seeds nothing (demo keys {before} -> {after1} -> {sql(demo_keys)})")

# The Dockerfile (one, at the root): multi-stage, bookworm build stage with cmake and the -dev
# packages, slim runtime, non-root user, no -dev package or compiler in the runtime stage; it
# builds and installs all four binaries, every COPY source is in the repository and left in the
# context by .dockerignore, the -dev packages are scripts/deps.sh's, and the entry script picks
# the binary by SERVICE (run here against the build, as the image runs it).
for path in ["Dockerfile"]:
    if not check(os.path.isfile(path), f"{path} exists"):
        continue
    text = open(path).read()
    stages = re.split(r"(?im)^FROM\s+", text)[1:]
    check(len(stages) >= 2, f"{path}: multi-stage")
    if len(stages) < 2:
        continue
    check(not [p for p in ["services/ingest-api/Dockerfile", "services/graphql-api/Dockerfile",
                           "services/worker/Dockerfile", "tools/Dockerfile"] if os.path.exists(p)],
          "no per-service Dockerfile besides the root one")
    logical = re.sub(r"\\\n", " ", text)
    bins = ["ingest-api", "graphql-api", "worker", "analytics-admin"]
    build_run = " ".join(re.findall(r"(?m)^RUN (.*cmake --build.*)$", logical))
    check(all(re.search(rf"--target [^&]*\b{b}\b", build_run) for b in bins),
          f"{path}: the build stage builds {', '.join(bins)}")
    check(all(f"/out/{b}" in re.sub(r"(?m)^(?!COPY --from=build).*$", "", logical) for b in bins) and
          re.search(r"(?m)^COPY --from=build .*/usr/local/bin/\s*$", logical) is not None,
          f"{path}: the runtime stage installs all four binaries in /usr/local/bin")
    ignored = [l.strip() for l in open(".dockerignore")] if os.path.isfile(".dockerignore") else []
    def kept(src):
        top = src.rstrip("/").split("/")[0]
        return not any(i == top or i == src.rstrip("/") for i in ignored if i and not i.startswith("#"))
    srcs = [m.split()[:-1] for m in re.findall(r"(?m)^COPY (?!--from)(.*)$", logical)]
    srcs = [x for xs in srcs for x in xs if x != "."]
    check(bool(srcs) and all(os.path.exists(x) and kept(x) for x in srcs),
          f"{path}: every COPY source exists and is in the build context ({', '.join(srcs)})")
    check(".env" in ignored and "build" in ignored and "**/node_modules" in ignored,
          ".dockerignore keeps .env, build trees and node_modules out of the build context")
    deps = open("scripts/deps.sh").read()
    devs = set(re.findall(r"\b(lib[\w.+-]+-dev)\b", stages[0]))
    check(bool(devs) and all(d in deps for d in devs),
          f"{path}: the build stage's -dev packages are scripts/deps.sh's ({len(devs)})")
    check("npm run build" in logical and "npm run build" in open("scripts/web-build.sh").read(),
          f"{path}: the dashboard is built as scripts/web-build.sh builds it (npm run build)")
    ep = re.findall(r"(?m)^ENTRYPOINT\s+(.*)$", logical)
    check(ep == ['["/usr/local/bin/ea-entrypoint"]'] and
          "COPY deploy/docker/entrypoint.sh /usr/local/bin/ea-entrypoint" in logical,
          f"{path}: the entry point is deploy/docker/entrypoint.sh")
    # the entry script, with the build's binaries on PATH
    bindir = os.path.abspath(os.environ["BIN_DIR"])
    def entry(args, service=None):
        env = {k: v for k, v in os.environ.items() if k != "SERVICE"}
        env["PATH"] = bindir + ":" + env["PATH"]
        if service is not None:
            env["SERVICE"] = service
        return subprocess.run(["sh", "deploy/docker/entrypoint.sh", *args], env=env,
                              capture_output=True, text=True, timeout=30)
    r = entry([])
    check(r.returncode == 64 and "SERVICE is not set" in r.stderr and "graphql-api" in r.stderr,
          f"entrypoint: no SERVICE exits 64 naming the choices (exit {r.returncode}: {r.stderr.strip()[:120]})")
    r = entry(["--help"], "ingest")
    check(r.returncode == 64 and "SERVICE=ingest is not one of" in r.stderr,
          f"entrypoint: an unknown SERVICE exits 64 (exit {r.returncode}: {r.stderr.strip()[:120]})")
    for b in ["ingest-api", "graphql-api", "worker"]:
        r = entry(["--help"], b)
        check(r.returncode == 0 and b in (r.stdout + r.stderr) and "DATABASE_URL" in r.stdout + r.stderr,
              f"entrypoint: SERVICE={b} runs {b} with the arguments (--help, exit {r.returncode})")
    r = entry(["analytics-admin", "--help"], "worker")
    check(r.returncode == 0 and "migrate" in r.stdout + r.stderr,
          f"entrypoint: a command (analytics-admin --help) runs as given (exit {r.returncode})")
    r = entry(["healthcheck"], "analytics-admin")
    check(r.returncode == 0, "entrypoint: healthcheck of a one-off analytics-admin passes")
    s_ = socket.socket()
    s_.bind(("127.0.0.1", 0))
    free = str(s_.getsockname()[1])
    s_.close()
    env_port = dict(os.environ, WORKER_PORT=free)
    r = subprocess.run(["sh", "deploy/docker/entrypoint.sh", "healthcheck"], capture_output=True,
                       text=True, timeout=30, env=dict(env_port, SERVICE="worker"))
    check(r.returncode != 0, f"entrypoint: healthcheck fails when nothing answers on the port (exit {r.returncode})")
    first, last = stages[0], stages[-1]
    check(first.startswith("debian:bookworm") and "cmake" in first and "-dev" in first,
          f"{path}: build stage on debian:bookworm with cmake and -dev packages")
    check(last.startswith("debian:bookworm-slim"), f"{path}: runtime stage on debian:bookworm-slim")
    check(re.search(r"(?m)^\s*[^#\n]*\b\S+-dev\b", last) is None and "build-essential" not in last,
          f"{path}: runtime stage installs no -dev package or compiler")
    users = re.findall(r"(?im)^USER\s+(\S+)", last)
    check(bool(users) and users[-1] not in ("root", "0"), f"{path}: runs as a non-root user")


# ---- the SASL/SCRAM profile: docker-compose.sasl.yml on top of this file ----------------------
# redpanda-init makes the SCRAM user a superuser, creates it, switches SASL on and creates the
# topic as that user; ingest-api and the worker get settings lib/kafka accepts (checked by
# starting ingest-api with them until its configuration is loaded), the password from the
# environment, never from git.
try:
    with open("docker-compose.sasl.yml") as f:
        sasl_doc = yaml.safe_load(f)
    check(isinstance(sasl_doc, dict), "docker-compose.sasl.yml parses as a YAML mapping")
except Exception as e:
    check(False, f"docker-compose.sasl.yml parses: {e}")
    finish()
# Compose's merge of an override: mappings key by key (environment), sequences such as command
# replaced, new services added.
base = doc.get("services") or {}
over = sasl_doc.get("services") or {}
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
    check(e.get("KAFKA_BROKERS") == "redpanda:9092" and
          (merged.get(name, {}).get("entrypoint") or [""])[-1].startswith(". /secrets/service.env"),
          f"{name}: the rest of its set-up is kept (KAFKA_BROKERS, the URLs from /secrets/service.env)")
check("KAFKA_SECURITY_PROTOCOL" not in env_of(merged.get("graphql-api", {})),
      "graphql-api (no Kafka client) is unchanged")

# lib/kafka accepts these settings: start ingest-api with them (a dummy password) and see it get
# past its configuration (a bad value exits 2 at once, naming the variable).
e = {k: v for k, v in env_of(merged.get("ingest-api", {})).items() if k.startswith("KAFKA_SASL") or k == "KAFKA_SECURITY_PROTOCOL"}
e["KAFKA_SASL_USERNAME"] = "analytics"
e["KAFKA_SASL_PASSWORD"] = "dummy-password-for-the-check"
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
