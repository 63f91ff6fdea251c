/*
 * ea_test_net.h — loopback sockets for unit tests that run a scripted peer or a server in the
 * test process (tests/unit/http, tests/unit/redis): a listening socket on 127.0.0.1 and a free
 * ephemeral port, so parallel test runs never collide on a fixed port.
 */
#ifndef EA_TEST_NET_H
#define EA_TEST_NET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A socket bound to 127.0.0.1 on an ephemeral port (*port), listening when listen_too; -1 on
 * failure. */
static inline int ea_test_loopback(int *port, int listen_too)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t l = sizeof(a);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        (listen_too && listen(fd, 16) != 0) || getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

#endif
