/* sift_record.h -- one DMARC aggregate report as typed data.
 *
 * Produced by xml/ (sift_xml_open/next), stored by store/, analysed by
 * report/. Strings are normalised by the parser (see docs/inspect.md):
 * trimmed; enumeration words lowercased (an unknown word is kept, lowercased,
 * and a warning added); domains lowercased without a trailing dot. A NULL
 * string means the element was absent; "" means present but empty (this
 * matters for envelope_from: a null reverse-path). All strings are UTF-8.
 *
 * The verdict (sift_verdict) is not in the XML: report/ computes it from a
 * record and its report, and store/ keeps it next to the record so that
 * `dmarcsift report` is an aggregate query rather than a re-analysis. */
#ifndef SIFT_RECORD_H
#define SIFT_RECORD_H

#include <stddef.h>
#include <stdint.h>

typedef struct sift_reason {
    const char *type;    /* forwarded, sampled_out, trusted_forwarder,
                            mailing_list, local_policy, other,
                            policy_test_mode, or a raw unknown word */
    const char *comment; /* may be NULL */
} sift_reason;

typedef struct sift_dkim_result {
    const char *domain;   /* d=; may be "" (some reporters) */
    const char *selector; /* s=; NULL when absent (RFC 7489 allows it) */
    const char *result;   /* none pass fail policy neutral temperror
                             permerror, or raw */
    const char *human_result;
} sift_dkim_result;

typedef struct sift_spf_result {
    const char *domain;
    const char *scope;  /* helo | mfrom; NULL when absent (means mfrom) */
    const char *result; /* none neutral pass fail softfail temperror
                           permerror policy, or raw (hardfail, unknown,
                           error seen in the wild) */
    const char *human_result;
} sift_spf_result;

typedef struct sift_record {
    unsigned long line;    /* line of <record> in the XML, for errors */
    const char *source_ip; /* canonical text form (inet_ntop) */
    uint64_t count;
    /* policy_evaluated: the reporter's verdict */
    const char *disposition; /* none quarantine reject pass, or raw */
    const char *dkim;        /* pass | fail | raw | NULL */
    const char *spf;         /* pass | fail | raw | NULL */
    const sift_reason *reasons;
    size_t n_reasons;
    /* identifiers */
    const char *header_from;   /* a domain, even if the reporter sent an
                                  address */
    const char *envelope_from; /* NULL absent, "" null reverse-path */
    const char *envelope_to;
    /* auth_results, in document order */
    const sift_dkim_result *dkim_results;
    size_t n_dkim;
    const sift_spf_result *spf_results;
    size_t n_spf;
} sift_record;

typedef struct sift_report_meta {
    /* document */
    const char *version;   /* <version> text or NULL */
    const char *namespace; /* root namespace URI or NULL */
    /* report_metadata */
    const char *org_name;
    const char *email;
    const char *extra_contact_info;
    const char *report_id;
    int64_t begin, end; /* date_range, epoch seconds UTC */
    const char *const *errors;
    size_t n_errors;
    const char *generator;
    /* policy_published (the first block; later ones only warn) */
    const char *domain;
    const char *adkim, *aspf; /* r | s | NULL */
    const char *p, *sp, *np;  /* none | quarantine | reject | NULL */
    int pct;                  /* 0..100, or -1 when absent */
    const char *fo;
    const char *testing;          /* n | y | NULL */
    const char *discovery_method; /* psl | treewalk | NULL */
    /* parser findings: repairs, unknown values, ignored duplicates. Grows
     * while records are read; complete after SIFT_ITEROVER. */
    const char *const *warnings;
    size_t n_warnings;
} sift_report_meta;

/* --- the verdict: computed by report/, stored by store/ ---------------- */

/* Explanation categories (standards.md §3.7). Bit positions are stable:
 * they are stored in the database. Names: sift_category_code(). */
typedef enum sift_category {
    SIFT_CAT_PASS_DKIM_ALIGNED = 0,    /* P1 */
    SIFT_CAT_PASS_SPF_ALIGNED,         /* P2 */
    SIFT_CAT_SPF_NOT_ALIGNED,          /* S1 */
    SIFT_CAT_SPF_SOFTFAIL,             /* S2 */
    SIFT_CAT_SPF_FAIL,                 /* S3 */
    SIFT_CAT_SPF_NEUTRAL,              /* S4 */
    SIFT_CAT_SPF_NONE,                 /* S5 */
    SIFT_CAT_SPF_TEMPERROR,            /* S6 */
    SIFT_CAT_SPF_PERMERROR,            /* S7 */
    SIFT_CAT_SPF_POLICY,               /* S8 */
    SIFT_CAT_SPF_MISSING,              /* S9 */
    SIFT_CAT_NULL_REVERSE_PATH,        /* S10 */
    SIFT_CAT_DKIM_NONE,                /* D1 */
    SIFT_CAT_DKIM_THIRD_PARTY,         /* D2 */
    SIFT_CAT_DKIM_FAIL,                /* D3 */
    SIFT_CAT_DKIM_TEMPERROR,           /* D4 */
    SIFT_CAT_DKIM_PERMERROR,           /* D5 */
    SIFT_CAT_DKIM_NOT_ACCEPTABLE,      /* D6 */
    SIFT_CAT_FORWARDED_DKIM_INTACT,    /* F1 */
    SIFT_CAT_FORWARDED_BOTH_BROKEN,    /* F2 */
    SIFT_CAT_RECEIVER_OVERRIDE,        /* F3 */
    SIFT_CAT_UNAUTHENTICATED,          /* U1 */
    SIFT_CAT_UNCONFIGURED_THIRD_PARTY, /* U2 */
    SIFT_CAT_REPORTER_INCONSISTENT,    /* R1 */
    SIFT_CAT_AMBIGUOUS_SP_NP,          /* R2 */
    SIFT_CAT_TESTING_OR_SAMPLING,      /* R3 */
    SIFT_CAT__COUNT
} sift_category;

/* The records.categories column holds the category set in bits 0-31 and
 * the primary category + 1 from this bit on (0: not known, a record
 * evaluated before primary categories existed). */
#define SIFT_PRIMARY_SHIFT 32

/* Consistency flags between the reporter and the recomputation. */
enum {
    SIFT_FLAG_SPF_MISMATCH = 1u << 0,   /* pe.spf != recomputed */
    SIFT_FLAG_DKIM_MISMATCH = 1u << 1,  /* pe.dkim != recomputed */
    SIFT_FLAG_DMARC_MISMATCH = 1u << 2, /* pe dmarc != recomputed */
    SIFT_FLAG_PSL_APPROX = 1u << 3,     /* relaxed alignment via PSL */
    SIFT_FLAG_FROM_OUTSIDE_DOMAIN = 1u << 4,
    SIFT_FLAG_HELO_ONLY_SPF = 1u << 5,
    SIFT_FLAG_ENVELOPE_SPF_MISMATCH = 1u << 6,
    SIFT_FLAG_NO_HEADER_FROM = 1u << 7,
    /* policy_evaluated lacked <dkim> and/or <spf>: the recomputed
     * alignment stands in for the missing value (eval.c) */
    SIFT_FLAG_PE_MISSING = 1u << 8,
    /* header_from named several author domains (RFC 7489 §6.6.1): each
     * was evaluated; the verdict is a pass only when each passes */
    SIFT_FLAG_MULTI_AUTHOR = 1u << 9
};

typedef enum sift_outcome {
    SIFT_OUT_PASS = 0,     /* reporter says DMARC pass: not affected */
    SIFT_OUT_WOULD_REJECT, /* fail, nothing exempts it */
    SIFT_OUT_OVERRIDDEN,   /* fail, receiver exempts (forwarded ...) */
    SIFT_OUT_DNS_ERROR,    /* fail with temperror: indeterminate */
} sift_outcome;

typedef struct sift_verdict {
    unsigned dmarc_fail : 1;   /* pe has neither dkim=pass nor spf=pass */
    unsigned would_reject : 1; /* outcome == SIFT_OUT_WOULD_REJECT */
    unsigned spf_aligned : 1;  /* recomputed: SPF pass and aligned */
    unsigned dkim_aligned : 1; /* recomputed: a DKIM pass is aligned */
    sift_outcome outcome;
    uint32_t categories; /* bit (1u << sift_category) */
    uint32_t flags;      /* SIFT_FLAG_* */
    /* The one category that explains this record (docs/report.md, "The
     * decision list"): counts and advice are kept per primary category. */
    sift_category primary;
    /* The domains the explanation names (borrowed from the record, or
     * NULL): the SPF domain and the DKIM d= the primary category is
     * about (the failing aligned signature for dkim_fail, the passing
     * third-party one for dkim_third_party, the aligned pass for a pass). */
    const char *spf_domain;
    const char *dkim_domain;
} sift_verdict;

/* records.flags as stored also carries, for report's one-column scan, the
 * reported disposition and the primary category (the verdict's own flags
 * stay below bit 10): bits 10-11 disposition (0 unknown, 1 none or pass,
 * 2 quarantine, 3 reject), bits 16-23 primary category + 1 (0: none). */
#define SIFT_SFLAG_DISP_SHIFT 10
#define SIFT_SFLAG_PRIMARY_SHIFT 16

static inline uint32_t
sift_stored_flags(const sift_verdict *v, const char *disposition)
{
    uint32_t d = 0;

    if (disposition != NULL) {
        char c = disposition[0] | 0x20; /* parser lowercases; be sure */
        d = c == 'n' || c == 'p' ? 1 : c == 'q' ? 2 : c == 'r' ? 3 : 0;
    }
    return (v->flags & 0x3ffu) | d << SIFT_SFLAG_DISP_SHIFT |
           ((uint32_t)v->primary + 1u) << SIFT_SFLAG_PRIMARY_SHIFT;
}

#endif
