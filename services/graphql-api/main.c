/*
 * main.c — graphql-api: wires config, logging, the schema, the key verifier and the HTTP
 * transport onto one event loop; runs until SIGTERM, then exits 0 once the loop is idle.
 */
#include "app.h"
#include "ea_http.h"
#include "ea_log.h"
#include "ea_pg.h"
#include "schema.h"
#include "transport.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: graphql-api\nconfiguration (environment):\n");
        gql_config_help(stdout);
        return 0;
    }
    gql_config cfg;
    struct ea_err err;
    if (gql_config_load(&cfg, &err) != EA_OK) {
        fprintf(stderr, "graphql-api: %s\n", err.message);
        return 2;
    }
    ea_log_init("graphql-api", ea_log_level_parse(cfg.log_level));
    gql_app app = {.cfg = &cfg, .database_url = cfg.database_url};
    char errbuf[256];
    app.schema = gql_schema_build(errbuf, sizeof(errbuf));
    if (app.schema == NULL) {
        ea_log_error("startup", "could not build schema: %s", errbuf);
        return 1;
    }
    ea_gql_limits_default(&app.limits);
    app.limits.max_depth = (size_t)cfg.max_depth;
    app.limits.max_aliases = (size_t)cfg.max_aliases;
    app.limits.max_tokens = (size_t)cfg.max_tokens;
    app.limits.max_cost = cfg.max_cost;
    app.limits.introspection = cfg.introspection;
    app.limits.cost_fn = gql_schema_cost;
    app.auth = ea_keyauth_new(cfg.database_url, cfg.key_cache_ttl_s);

    ea_http_config hc = {.host = cfg.listen_host,
                         .port = (int)cfg.port,
                         .max_body = (size_t)cfg.max_body,
                         .reuseport = cfg.reuseport};
    ea_http_server *srv = ea_http_server_new(&hc);
    if (srv == NULL || app.auth == NULL) {
        ea_log_error("startup", "out of memory");
        return 1;
    }
    gql_transport_register(srv, &app);
    if (ea_http_listen(srv, NULL, NULL, &err) != EA_OK) {
        ea_log_error("startup", "%s", err.message);
        return 1;
    }
    ea_log_info("startup", "listening on %s:%ld", cfg.listen_host, cfg.port);
    while (!ea_http_stopping(srv))
        ea_http_run_once(srv, 100);
    ea_log_info("shutdown", "stopped");
    ea_keyauth_free(app.auth);
    if (app.db != NULL)
        PQfinish(app.db);
    ea_gql_schema_free(app.schema);
    ea_http_server_free(srv);
    return 0;
}
