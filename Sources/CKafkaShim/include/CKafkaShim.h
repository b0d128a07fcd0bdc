#ifndef CKAFKASHIM_H
#define CKAFKASHIM_H
#include <stdint.h>

/// librdkafka's mock cluster binds its broker listener to 127.0.0.1 port 0 (an ephemeral port)
/// and has no option for a fixed one. `streamcast broker --port P` needs a fixed port, so this
/// shim interposes `bind`: while a port is armed, the next bind of an IPv4 loopback socket to
/// port 0 gets that port instead (once), then the shim disarms. Everything else passes through.
void ck_arm_next_loopback_port(uint16_t port);
/// Returns the port still armed (0 once it was consumed).
uint16_t ck_armed_port(void);

#endif
