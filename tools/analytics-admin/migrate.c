/*
 * migrate.c — `analytics-admin migrate`: applies db/migrations/NNNN_*.sql in version order, each
 * file in its own transaction together with its schema_migrations row, so a file is either fully
 * applied and recorded or not at all. Idempotent: recorded versions are skipped. A session-level
 * pg_advisory_lock (ADM_LOCK_MIGRATE) makes a second concurrent migrate wait and then find
 * everything applied. Ends with one partition maintenance pass (ea_partitions_maintain()).
 *
 * Rules for migration files (they run inside our transaction): no BEGIN/COMMIT, no
 * CREATE INDEX CONCURRENTLY; forward only — a shipped file is never edited, a new one is added.
 * The version is the NNNN prefix; two files with one prefix are refused.
 */
#include "admin.h"
#include "ea_arena.h"
#include "ea_buf.h"

#include "ea_time.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIGRATION_MAX_BYTES (16 * 1024 * 1024)
#define MIGRATIONS_MAX 10000

static const char usage[] =
    "usage: analytics-admin migrate\n"
    "\n"
    "Applies db/migrations/NNNN_*.sql in order, each in its own transaction, recording them in\n"
    "schema_migrations; already applied files are skipped. Then creates partitions ahead and "
    "drops\n"
    "those past retention (ea_partitions_maintain). Safe to run concurrently and repeatedly.\n"
    "\n"
    "environment:\n"
    "  DATABASE_URL     PostgreSQL to migrate\n"
    "  MIGRATIONS_DIR   default: ./db/migrations, else <binary dir>/../../db/migrations\n";

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Resolves the migrations directory into out (see usage). */
static ea_rc migrations_dir(const struct adm_cfg *cfg, char out[PATH_MAX], struct ea_err *err)
{
    if (cfg->migrations_dir != NULL) {
        snprintf(out, PATH_MAX, "%s", cfg->migrations_dir);
        if (!is_dir(out))
            return ea_err_set(err, EA_ERR_NOTFOUND,
                              "could not open migrations directory \"%s\": not a directory "
                              "(MIGRATIONS_DIR)",
                              out);
        return EA_OK;
    }
    if (is_dir("db/migrations")) {
        snprintf(out, PATH_MAX, "db/migrations");
        return EA_OK;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(out, PATH_MAX, "%s/../../db/migrations", dirname(exe));
        if (is_dir(out))
            return EA_OK;
    }
    return ea_err_set(err, EA_ERR_NOTFOUND,
                      "could not find the migrations directory: no ./db/migrations nor %s; set "
                      "MIGRATIONS_DIR",
                      n > 0 ? out : "<binary dir>/../../db/migrations");
}

/* NNNN_<something>.sql */
static bool is_migration_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 10 || strcmp(name + n - 4, ".sql") != 0 || name[4] != '_')
        return false;
    for (int i = 0; i < 4; i++)
        if (name[i] < '0' || name[i] > '9')
            return false;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Lists migration file names in dir, sorted; warns about *.sql files that do not match. */
static ea_rc list_migrations(const char *dir, char ***out, size_t *nout, struct ea_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return ea_err_set(err, EA_ERR_IO, "could not open migrations directory \"%s\": %s", dir,
                          strerror(errno));
    char **v = NULL;
    size_t n = 0, cap = 0;
    ea_rc rc = EA_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (!is_migration_name(e->d_name)) {
            if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0)
                fprintf(stderr, "warning: ignoring %s/%s: not named NNNN_description.sql\n", dir,
                        e->d_name);
            continue;
        }
        if (n == MIGRATIONS_MAX) {
            rc = ea_err_set(err, EA_ERR_LIMIT, "could not list migrations: more than %d files",
                            MIGRATIONS_MAX);
            goto out;
        }
        char **nv = ea_array_grow(v, sizeof(*v), n, &cap, 16);
        if (nv == NULL) {
            rc = ea_err_set(err, EA_ERR_NOMEM, "could not list migrations: out of memory");
            goto out;
        }
        v = nv;
        if ((v[n] = strdup(e->d_name)) == NULL) {
            rc = ea_err_set(err, EA_ERR_NOMEM, "could not list migrations: out of memory");
            goto out;
        }
        n++;
    }
    if (n > 0)
        qsort(v, n, sizeof(*v), cmp_str);
    for (size_t i = 1; i < n; i++) {
        if (strncmp(v[i - 1], v[i], 4) == 0) {
            rc = ea_err_set(err, EA_ERR_INVALID,
                            "could not list migrations: %s and %s share version %.4s", v[i - 1],
                            v[i], v[i]);
            goto out;
        }
    }
out:
    closedir(d);
    if (rc != EA_OK) {
        free_list(v, n);
        return rc;
    }
    *out = v;
    *nout = n;
    return EA_OK;
}

/* Reads a whole migration file; caller frees *out. */
static ea_rc read_file(const char *path, char **out, struct ea_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ea_err_set(err, EA_ERR_IO, "could not open %s: %s", path, strerror(errno));
    ea_rc rc = EA_OK;
    ea_buf b;
    ea_buf_init(&b, MIGRATION_MAX_BYTES);
    while (ea_buf_reserve(&b, 64 * 1024 < b.max - b.len ? 64 * 1024 : b.max - b.len)) {
        size_t got = fread(b.p + b.len, 1, b.cap - 1 - b.len, f);
        ea_buf_advance(&b, got);
        if (ferror(f)) {
            rc = ea_err_set(err, EA_ERR_IO, "could not read %s: %s", path, strerror(errno));
            break;
        }
        if (feof(f))
            break;
        if (b.len == b.max) { /* full at the cap and not at its end */
            ea_buf_fail(&b, EA_BUF_TOO_BIG);
            break;
        }
    }
    fclose(f);
    if (rc == EA_OK && b.err == EA_BUF_TOO_BIG)
        rc = ea_err_set(err, EA_ERR_LIMIT, "could not read %s: larger than %d bytes", path,
                        MIGRATION_MAX_BYTES);
    else if (rc == EA_OK && !ea_buf_ok(&b))
        rc = ea_err_set(err, EA_ERR_NOMEM, "could not read %s: out of memory", path);
    if (rc == EA_OK && memchr(b.p, '\0', b.len) != NULL)
        rc = ea_err_set(err, EA_ERR_INVALID, "could not read %s: contains a NUL byte", path);
    if (rc != EA_OK) {
        ea_buf_free(&b);
        return rc;
    }
    *out = ea_buf_take(&b);
    return *out != NULL ? EA_OK
                        : ea_err_set(err, EA_ERR_NOMEM, "could not read %s: out of memory", path);
}

/* Applies one file and records it, in one transaction. */
static ea_rc apply_one(PGconn *c, const char *dir, const char *file, struct ea_err *err)
{
    char path[PATH_MAX], version[5], what[PATH_MAX + 32];
    char *sql = NULL;
    int plen = snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (plen < 0 || (size_t)plen >= sizeof(path))
        return ea_err_set(err, EA_ERR_LIMIT, "could not open %s/%s: path too long", dir, file);
    snprintf(version, sizeof(version), "%.4s", file);
    ea_rc rc = read_file(path, &sql, err);
    if (rc != EA_OK)
        return rc;
    if ((rc = adm_exec(c, "BEGIN", err)) != EA_OK)
        goto out;
    /* A migration file is trusted repository content and holds many statements: simple query
     * protocol, inside our transaction. */
    rc = adm_exec(c, sql, err);
    if (rc == EA_OK) {
        const char *params[] = {version, file};
        snprintf(what, sizeof(what), "record migration %s", file);
        PGresult *res = adm_query(c, what,
                                  "INSERT INTO schema_migrations (version, filename) VALUES ($1, "
                                  "$2)",
                                  2, params, PGRES_COMMAND_OK, err);
        rc = res != NULL ? EA_OK : err->code;
        PQclear(res);
    } else {
        /* ea_pg_exec says "could not run statement: reason". */
        const char *reason = strchr(err->message, ':');
        char buf[sizeof(err->message)];
        snprintf(buf, sizeof(buf), "could not apply migration %s:%s", file,
                 reason != NULL ? reason + 1 : " failed");
        memcpy(err->message, buf, sizeof(buf));
    }
    if (rc == EA_OK)
        rc = adm_exec(c, "COMMIT", err);
    else
        adm_rollback(c);
out:
    free(sql);
    return rc;
}

int adm_cmd_migrate(const struct adm_cfg *cfg, int argc, char **argv)
{
    size_t npos;
    int prc = adm_opts_parse(argc, argv, NULL, 0, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;

    struct ea_err err = {0};
    char dir[PATH_MAX];
    char **files = NULL;
    size_t nfiles = 0, applied = 0, skipped = 0;
    PGconn *c = NULL;
    PGresult *res = NULL;
    int exit_code = ADM_EXIT_FAIL;

    if (migrations_dir(cfg, dir, &err) != EA_OK ||
        list_migrations(dir, &files, &nfiles, &err) != EA_OK)
        return adm_fail(&err);
    if ((c = adm_connect(cfg)) == NULL)
        goto out;

    const char *lock[] = {ADM_LOCK_MIGRATE};
    res = adm_query(c, "take the migration lock", "SELECT pg_advisory_lock($1::bigint)", 1, lock,
                    PGRES_TUPLES_OK, &err);
    if (res == NULL)
        goto fail;
    PQclear(res);
    res = adm_query(c, "create schema_migrations",
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version text PRIMARY KEY,"
                    " filename text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())",
                    0, NULL, PGRES_COMMAND_OK, &err);
    if (res == NULL)
        goto fail;
    PQclear(res);
    res = adm_query(c, "read schema_migrations",
                    "SELECT version, filename FROM schema_migrations ORDER BY version", 0, NULL,
                    PGRES_TUPLES_OK, &err);
    if (res == NULL)
        goto fail;

    printf("migrations: %s (%zu files)\n", dir, nfiles);
    /* Versions recorded but absent on disk: an older checkout against a newer database. */
    for (int r = 0; r < PQntuples(res); r++) {
        bool found = false;
        for (size_t i = 0; i < nfiles && !found; i++)
            found = strncmp(files[i], PQgetvalue(res, r, 0), 4) == 0;
        if (!found)
            fprintf(stderr, "warning: migration %s is applied but not in %s\n",
                    PQgetvalue(res, r, 1), dir);
    }
    for (size_t i = 0; i < nfiles; i++) {
        bool done = false;
        for (int r = 0; r < PQntuples(res) && !done; r++)
            done = strncmp(files[i], PQgetvalue(res, r, 0), 4) == 0;
        if (done) {
            skipped++;
            continue;
        }
        int64_t t0 = ea_time_mono_ns();
        if (apply_one(c, dir, files[i], &err) != EA_OK)
            goto fail;
        printf("applied %s (%lld ms)\n", files[i], (long long)((ea_time_mono_ns() - t0) / 1000000));
        fflush(stdout);
        applied++;
    }
    PQclear(res);
    res = NULL;

    long created = 0;
    if (adm_partitions_maintain(c, &created, &err) != EA_OK)
        goto fail;
    printf("migrate: %zu applied, %zu already applied; partitions: %ld created\n", applied, skipped,
           created);
    exit_code = ADM_EXIT_OK;
    goto out;
fail:
    exit_code = adm_fail(&err);
out:
    PQclear(res);
    if (c != NULL)
        PQfinish(c); /* ends the session: releases the advisory lock */
    free_list(files, nfiles);
    return exit_code;
}
