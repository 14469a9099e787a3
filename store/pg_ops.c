/* pg_ops.c -- the PostgreSQL backend's ops table: each entry passes the
 * handle on as the sift_pg it is (sift_pg embeds sift_store first). The
 * operations are listed once, in store_ops.def. */
#include "pg_int.h"

#define SELF ((sift_pg *)st)
#define SIFT_STORE_OP(ret, name, params, args)                                 \
    static ret a_##name params                                                 \
    {                                                                          \
        return sift_pg_##name args;                                            \
    }
#define SIFT_STORE_VOP(name, params, args)                                     \
    static void a_##name params                                                \
    {                                                                          \
        sift_pg_##name args;                                                   \
    }
#include "store_ops.def"
#undef SIFT_STORE_OP
#undef SIFT_STORE_VOP

const sift_store_ops sift_pg__ops = {
#define SIFT_STORE_OP(ret, name, params, args) .name = a_##name,
#define SIFT_STORE_VOP(name, params, args) .name = a_##name,
#include "store_ops.def"
#undef SIFT_STORE_OP
#undef SIFT_STORE_VOP
};
