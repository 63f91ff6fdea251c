/*
 * partitions.c — `analytics-admin partitions`: one maintenance pass (create partitions ahead,
 * drop those past retention; ea_partitions_maintain() in 0001_init.sql) and a listing of every
 * partition with its range and row estimate, per partitioned table and its retention.
 * Retention itself is data (partition_classes), changed with SQL, not here.
 */
#include "admin.h"

static const char usage[] =
    "usage: analytics-admin partitions\n"
    "\n"
    "Runs one partition maintenance pass (creates partitions ahead, drops those past retention)\n"
    "and lists the partitions of raw_events, rollups_hourly and rollups_daily with their range\n"
    "and estimated rows. Retention per table: partition_classes.retention_days.\n";

int adm_cmd_partitions(const struct adm_cfg *cfg, int argc, char **argv)
{
    size_t npos;
    int prc = adm_opts_parse(argc, argv, NULL, 0, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    int rc = ADM_EXIT_OK;
    long created = 0;
    PGresult *res = NULL;
    if (adm_partitions_maintain(c, &created, &err) != EA_OK) {
        rc = adm_fail(&err);
        goto out;
    }
    printf("maintenance: %ld partitions created\n", created);
    res = adm_query(c, "list partition classes",
                    "SELECT parent AS table, granularity, retention_days, premake FROM "
                    "partition_classes ORDER BY parent",
                    0, NULL, PGRES_TUPLES_OK, &err);
    if (res == NULL) {
        rc = adm_fail(&err);
        goto out;
    }
    adm_print_table(res, stdout);
    PQclear(res);
    /* reltuples is -1 for a partition never vacuumed or analyzed (PostgreSQL 14+): shown as "-". */
    res = adm_query(c, "list partitions",
                    "SELECT par.relname AS table, child.relname AS partition,"
                    " regexp_replace(pg_get_expr(child.relpartbound, child.oid),"
                    "  'FOR VALUES FROM \\(''([^'']*)''\\) TO \\(''([^'']*)''\\)', '[\\1, \\2)')"
                    "  AS range,"
                    " CASE WHEN child.reltuples < 0 THEN NULL"
                    " ELSE child.reltuples::bigint END AS rows_estimate"
                    " FROM partition_classes pc"
                    " JOIN pg_class par ON par.relname = pc.parent"
                    "  AND par.relnamespace = to_regnamespace(current_schema())::oid"
                    " JOIN pg_inherits i ON i.inhparent = par.oid"
                    " JOIN pg_class child ON child.oid = i.inhrelid"
                    " ORDER BY par.relname, child.relname",
                    0, NULL, PGRES_TUPLES_OK, &err);
    if (res == NULL) {
        rc = adm_fail(&err);
        goto out;
    }
    printf("\n");
    adm_print_table(res, stdout);
out:
    PQclear(res);
    PQfinish(c);
    return rc;
}
