/* sqlite_ops.c -- the SQLite backend's ops table: each entry passes the
 * handle on as the sift_sq it is (sift_sq embeds sift_store first). The
 * operations are listed once, in store_ops.def. */
#include "sqlite_int.h"

#define SELF ((sift_sq *)st)
#define SIFT_STORE_OP(ret, name, params, args)                                 \
    static ret a_##name params                                                 \
    {                                                                          \
        return sift_sq_##name args;                                            \
    }
#define SIFT_STORE_VOP(name, params, args)                                     \
    static void a_##name params                                                \
    {                                                                          \
        sift_sq_##name args;                                                   \
    }
#include "store_ops.def"
#undef SIFT_STORE_OP
#undef SIFT_STORE_VOP

const sift_store_ops sift_sq__ops = {
#define SIFT_STORE_OP(ret, name, params, args) .name = a_##name,
#define SIFT_STORE_VOP(name, params, args) .name = a_##name,
#include "store_ops.def"
#undef SIFT_STORE_OP
#undef SIFT_STORE_VOP
};
