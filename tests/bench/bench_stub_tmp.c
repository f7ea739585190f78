#include <errno.h>
#include "bench.h"
int bench_blk(void) { return -ENOENT; }
int bench_net(void) { return -ENOENT; }
int bench_scale(void) { return -ENOENT; }
