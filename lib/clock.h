/* The one clock deadlines are counted on. */
#ifndef MEMGUARD_CLOCK_H
#define MEMGUARD_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds. */
uint64_t mg_now_usec(void);

#endif
