/*
 * backfill.c — `analytics-admin backfill --metric M --from T --to T` (SPEC §9): recompute a
 * metric's rollups from raw events. Not implemented yet: the rollup logic belongs to the worker
 * (services/worker), and backfill will reuse it rather than duplicate it here.
 */
#include "admin.h"

static const char usage[] =
    "usage: analytics-admin backfill --tenant T --metric M --from TIME --to TIME\n"
    "\n"
    "Recomputes the rollups of metric M from raw events in [from, to). Not implemented yet.\n";

int adm_cmd_backfill(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant, *metric, *from, *to;
    size_t npos;
    struct adm_opt opts[] = {
        {"tenant", &tenant}, {"metric", &metric}, {"from", &from}, {"to", &to}};
    int prc = adm_opts_parse(argc, argv, opts, 4, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    fprintf(stderr, "could not backfill: not implemented yet (the worker owns the rollup logic)\n");
    return ADM_EXIT_USAGE;
}
