#pragma once
#include <hiredis/hiredis.h>

/* The context's error text (a fixed array, which Swift sees as a tuple). */
static inline const char *haven_redis_error(const redisContext *context) {
    return context->errstr;
}
