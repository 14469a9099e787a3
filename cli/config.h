/* config.h -- the configuration file: INI text -> sift_config.
 *
 * Files, read in this order, later values replacing earlier ones:
 * SIFT_SYSCONFDIR/dmarcsift/dmarcsift.conf, then
 * $XDG_CONFIG_HOME/dmarcsift/config ($HOME/.config/... when unset);
 * $DMARCSIFT_CONFIG or --config FILE names the one file to read instead,
 * --no-config reads none. The environment and the command line are
 * applied over the result by main.c. Syntax and keys: dmarcsift(1),
 * FILES. No printing here: errors come back in sift_err with `where` set
 * to "FILE:LINE". */
#ifndef SIFT_CONFIG_H
#define SIFT_CONFIG_H

#include <stddef.h>

#include "sift_err.h"
#include "sift_limits.h"
#include "sift_owner.h"

/* Ceilings: a file over 1 MiB or a line over 4096 bytes is an error. */
#define SIFT_CONFIG_MAX_FILE (1024 * 1024)
#define SIFT_CONFIG_MAX_LINE 4096

/* [report] max-sources at most (SIFT_REPORT_MAX_SOURCES_CEILING, checked
 * in main.c). */
#define SIFT_CONFIG_MAX_SOURCES 4000000

/* Bits of sift_config.lim_set: which limits a file set. */
#define SIFT_CFG_MAX_REPORT_SIZE 1u
#define SIFT_CFG_MAX_INPUT_SIZE 2u
#define SIFT_CFG_MAX_DEPTH 4u
#define SIFT_CFG_MAX_ENTRIES 8u
#define SIFT_CFG_MAX_KEEP_SIZE 16u
#define SIFT_CFG_MAX_MESSAGES 32u

/* One origin tag per list entry so that a later file's list can replace
 * an earlier file's list of the same key. */
typedef struct sift_config_sender {
    sift_owner_sender s;
    int from_forwarder; /* [owner] forwarder (else [senders]) */
    int file;           /* index of the file it came from */
} sift_config_sender;

typedef struct sift_config {
    char *db;       /* [database] path, or NULL */
    char **sources; /* [ingest] source, in file order */
    size_t n_sources;
    int quiet;       /* [ingest] quiet: -1 unset, 0, 1 */
    sift_limits lim; /* [ingest] max-*: only the lim_set bits */
    unsigned lim_set;
    unsigned max_sources; /* [report] max-sources, 0 unset */
    sift_ipnet *own_nets; /* [owner] network */
    size_t n_own_nets;
    sift_config_sender *senders; /* [owner] forwarder and [senders] */
    size_t n_senders;
    sift_owner_sender *flat; /* sift_config_owner()'s view */
    int files;               /* files parsed so far */
} sift_config;

void sift_config_init(sift_config *c);
void sift_config_free(sift_config *c);

/* Parse one file's text (name is used in errors) into c. Scalars it sets
 * replace earlier values; a list key (source, network, forwarder, the
 * [senders] section) it sets at least once replaces the earlier files'
 * list of that key. On error c keeps what earlier files set and whatever
 * this one set before the bad line; err->where is "name:LINE". */
int sift_config_parse(sift_config *c, const char *name, const char *text,
                      size_t len, sift_err *err);

/* Read and parse the file at path. missing_ok: a file that does not exist
 * is skipped (the default paths); otherwise it is an error. Returns
 * SIFT_OK, SIFT_EIO (cannot read) or SIFT_EFORMAT (malformed). */
int sift_config_read(sift_config *c, const char *path, int missing_ok,
                     sift_err *err);

/* The user file: $XDG_CONFIG_HOME/dmarcsift/config, else
 * $HOME/.config/dmarcsift/config, written into buf. Returns 0, or -1 when
 * neither variable is set (or the path does not fit). */
int sift_config_user_path(char *buf, size_t n);

/* The owner's knowledge as report/ takes it (sift_owner.h). The arrays
 * belong to c and live until sift_config_free(). Returns SIFT_OK or
 * SIFT_ENOMEM. */
int sift_config_owner(sift_config *c, sift_owner_knowledge *out, sift_err *err);

#endif
