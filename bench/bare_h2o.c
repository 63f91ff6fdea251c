/*
 * bare_h2o.c — the baseline of every benchmark: a bare libh2o-evloop server answering any POST
 * or GET with a small fixed JSON body (Content-Length set, keep-alive kept). Our services are
 * reported as a ratio to this, measured in the same run on the same machine.
 * Usage: bare-h2o PORT
 */
#include "ea_http.h"

#include <stdio.h>
#include <stdlib.h>

static int on_any(void *ud, h2o_req_t *req)
{
    static const char body[] = "{\"accepted\":1,\"rejected\":0}";
    ea_http_send_bytes(req, 202, "application/json", body, sizeof(body) - 1);
    return 0;
}

int main(int argc, char **argv)
{
    ea_http_config hc = {.host = "127.0.0.1",
                         .port = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 18080,
                         .max_body = 1 << 20};
    ea_http_server *s = ea_http_server_new(&hc);
    ea_http_route(s, "/", on_any, NULL);
    struct ea_err err;
    if (ea_http_listen(s, NULL, NULL, &err) != EA_OK) {
        fprintf(stderr, "bare-h2o: %s\n", err.message);
        return 1;
    }
    while (!ea_http_stopping(s))
        ea_http_run_once(s, 100);
    return 0;
}
