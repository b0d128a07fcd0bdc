#define _GNU_SOURCE
#include "CKafkaShim.h"
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

static _Atomic uint16_t armed_port = 0;

void ck_arm_next_loopback_port(uint16_t port) { atomic_store(&armed_port, port); }
uint16_t ck_armed_port(void) { return atomic_load(&armed_port); }

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static bind_fn real_bind = NULL;
    if (!real_bind) real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
    if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        if (in->sin_port == 0 && in->sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
            uint16_t port = atomic_exchange(&armed_port, 0);
            if (port != 0) {
                struct sockaddr_in fixed;
                memcpy(&fixed, in, sizeof(fixed));
                fixed.sin_port = htons(port);
                return real_bind(fd, (const struct sockaddr *)&fixed, sizeof(fixed));
            }
        }
    }
    return real_bind(fd, addr, len);
}
