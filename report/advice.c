/* advice.c -- what to do about one primary category of one sender: a
 * table of rules, tried in order, the first that matches writes the line
 * (docs/report.md "Advice rules"; each row has a unit test in
 * tests/check_report.c). A rule names the identifier that failed, as the
 * category's biggest record has it, never a guess. */
#include "report_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sift_util.h"

typedef struct arow {
    const char *id;
    int (*match)(const sift_advice_in *in);
    void (*write)(char *b, size_t n, const sift_advice_in *in);
} arow;

static const char *
or_(const char *s, const char *dflt)
{
    return s != NULL && s[0] != '\0' ? s : dflt;
}

/* ip4: or ip6: as the address is */
static const char *
ipmech(const sift_advice_in *in)
{
    return in->ip != NULL && strchr(in->ip, ':') != NULL ? "ip6:" : "ip4:";
}

static int
svc_is(const sift_advice_in *in, const char *prefix)
{
    return in->service != NULL &&
           strncmp(in->service->name, prefix, strlen(prefix)) == 0;
}

/* 1 if a equals b or is a subdomain of it (both lowercase domains). */
static int
under(const char *a, const char *b)
{
    size_t la, lb;

    if (a == NULL || b == NULL || b[0] == '\0')
        return 0;
    la = strlen(a);
    lb = strlen(b);
    if (la == lb)
        return strcasecmp(a, b) == 0;
    return la > lb && a[la - lb - 1] == '.' && strcasecmp(a + la - lb, b) == 0;
}

/* Related under relaxed alignment, approximately: one under the other
 * (the sibling case needs the PSL and is left to the evaluation). */
static int
related(const char *a, const char *b)
{
    return under(a, b) || under(b, a);
}

static int
failing(const sift_advice_in *in)
{
    return in->cat != SIFT_CAT_PASS_DKIM_ALIGNED &&
           in->cat != SIFT_CAT_PASS_SPF_ALIGNED &&
           in->cat != SIFT_CAT_FORWARDED_DKIM_INTACT;
}

static int
is_cat(const sift_advice_in *in, sift_category c)
{
    return in->cat == c;
}

static int
third(const sift_advice_in *in)
{
    return in->cat == SIFT_CAT_UNCONFIGURED_THIRD_PARTY ||
           in->cat == SIFT_CAT_DKIM_THIRD_PARTY ||
           in->cat == SIFT_CAT_SPF_NOT_ALIGNED;
}

/* What strict alignment adds, for an identifier under From but not equal
 * to it; "" when nothing. */
static void
strict_note(char *b, size_t n, const sift_advice_in *in)
{
    const char *from = or_(in->from, in->domain);

    b[0] = '\0';
    if (in->aspf_strict && in->env != NULL && in->env[0] &&
        strcasecmp(in->env, from) != 0 && related(in->env, from))
        snprintf(b, n,
                 "; with aspf=s the return-path %s does not align with %s: "
                 "rely on DKIM d=%s, or publish aspf=r",
                 in->env, from, from);
    else if (in->adkim_strict && in->dkim != NULL &&
             strcasecmp(in->dkim, from) != 0 && related(in->dkim, from))
        snprintf(b, n,
                 "; with adkim=s the signature d=%s does not align: sign "
                 "with d=%s itself, or publish adkim=r",
                 in->dkim, from);
}

/* --- the rows ------------------------------------------------------------ */

static int
m_pass_fwd(const sift_advice_in *in)
{
    return is_cat(in, SIFT_CAT_FORWARDED_DKIM_INTACT);
}
static void
w_pass_fwd(char *b, size_t n, const sift_advice_in *in)
{
    (void)in;
    snprintf(b, n,
             "none: DMARC passes on DKIM; SPF breaks at this "
             "forwarder, which is harmless");
}

static int
m_pass(const sift_advice_in *in)
{
    return is_cat(in, SIFT_CAT_PASS_DKIM_ALIGNED) ||
           is_cat(in, SIFT_CAT_PASS_SPF_ALIGNED);
}
static void
w_pass(char *b, size_t n, const sift_advice_in *in)
{
    if (is_cat(in, SIFT_CAT_PASS_SPF_ALIGNED))
        snprintf(b, n,
                 "none: passes DMARC on SPF only; sign with DKIM "
                 "d=%s so it survives forwarding",
                 or_(in->from, in->domain));
    else
        snprintf(b, n, "none: passes DMARC on aligned DKIM");
}

static int
m_spf_temp(const sift_advice_in *in)
{
    return is_cat(in, SIFT_CAT_SPF_TEMPERROR);
}
static void
w_spf_temp(char *b, size_t n, const sift_advice_in *in)
{
    snprintf(b, n,
             "transient DNS errors (temperror) looking up the SPF "
             "record of %s: check that its DNS servers answer "
             "reliably (receivers defer or accept such mail)",
             or_(in->env, or_(in->from, in->domain)));
}

static int
m_dkim_temp(const sift_advice_in *in)
{
    return is_cat(in, SIFT_CAT_DKIM_TEMPERROR);
}
static void
w_dkim_temp(char *b, size_t n, const sift_advice_in *in)
{
    snprintf(b, n,
             "transient DNS errors (temperror) looking up the DKIM "
             "key of d=%s: check that its DNS servers answer "
             "reliably (receivers defer or accept such mail)",
             or_(in->dkim, or_(in->from, in->domain)));
}

static int
m_override(const sift_advice_in *in)
{
    return is_cat(in, SIFT_CAT_RECEIVER_OVERRIDE);
}
static void
w_override(char *b, size_t n, const sift_advice_in *in)
{
    (void)in;
    snprintf(b, n,
             "receivers exempted this mail (forwarding, mailing list "
             "or ARC, by their own report): nothing to fix at the "
             "source; keep DKIM signing aligned so it survives "
             "forwarding");
}

static int
m_list(const sift_advice_in *in)
{
    return is_cat(in, SIFT_CAT_FORWARDED_BOTH_BROKEN);
}
static void
w_list(char *b, size_t n, const sift_advice_in *in)
{
    snprintf(b, n,
             "a forwarder or mailing list altered the message (the "
             "signature d=%s broke on the way): nothing to fix at the "
             "source; ask the list to use ARC or From rewriting",
             or_(in->dkim, or_(in->from, in->domain)));
}

static int
m_inconsistent(const sift_advice_in *in)
{
    return is_cat(in, SIFT_CAT_REPORTER_INCONSISTENT);
}
static void
w_inconsistent(char *b, size_t n, const sift_advice_in *in)
{
    (void)in;
    snprintf(b, n,
             "the reporter calls this a DMARC fail although the "
             "results it lists align: nothing to fix on your side; "
             "compare with other reporters");
}

static int
m_dkim_fail(const sift_advice_in *in)
{
    /* only for a signature that aligns with From (the evaluation names
     * that one) */
    return (is_cat(in, SIFT_CAT_DKIM_FAIL) ||
            is_cat(in, SIFT_CAT_DKIM_PERMERROR)) &&
           in->dkim != NULL && related(in->dkim, or_(in->from, in->domain));
}
static void
w_dkim_fail(char *b, size_t n, const sift_advice_in *in)
{
    if (is_cat(in, SIFT_CAT_DKIM_PERMERROR))
        snprintf(b, n,
                 "%s%sthe DKIM key of d=%s is missing or malformed "
                 "(permerror): publish the selector's public key in "
                 "DNS%s",
                 in->service ? in->service->name : "", in->service ? ": " : "",
                 in->dkim,
                 in->service ? " as the service tells you (CNAME or TXT)" : "");
    else
        snprintf(b, n,
                 "%s%sthe DKIM signature d=%s does not verify: check "
                 "the selector's public key in DNS and that nothing "
                 "rewrites the message after signing",
                 in->service ? in->service->name : "", in->service ? ": " : "",
                 in->dkim);
}

/* Microsoft 365 and Google Workspace send with the user's own MAIL FROM:
 * their SPF include in From's own record does align. */
static int
m_own_mailfrom(const sift_advice_in *in)
{
    return third(in) &&
           (svc_is(in, "Microsoft 365") || svc_is(in, "Google Workspace"));
}
static void
w_own_mailfrom(char *b, size_t n, const sift_advice_in *in)
{
    const char *from = or_(in->from, in->domain);
    int own = strcasecmp(from, in->domain) == 0; /* the record looked up */

    if (own && in->spf_include_published == 1) {
        snprintf(b, n,
                 "%s: %s; %s is already in %s's SPF, so SPF aligns once "
                 "the mail goes out with your own MAIL FROM",
                 in->service->name, in->service->fix, in->service->spf_include,
                 from);
        return;
    }
    if (own && in->spf_include_published == 0 &&
        in->spf_lookups_published >= 10) {
        snprintf(b, n,
                 "%s: %s; for SPF, %s would be lookup %d of %s's SPF, over "
                 "the limit of 10: flatten or drop an include first",
                 in->service->name, in->service->fix,
                 or_(in->service->spf_include, "its SPF include"),
                 in->spf_lookups_published + 1, from);
        return;
    }
    snprintf(b, n,
             "%s: %s; for SPF, add %s to the SPF record of %s: %s "
             "sends with your own MAIL FROM, so it aligns",
             in->service->name, in->service->fix,
             or_(in->service->spf_include, "its SPF include"), from,
             in->service->name);
}

/* Mailchimp has no custom return-path: only DKIM can align. */
static int
m_mailchimp(const sift_advice_in *in)
{
    return third(in) && svc_is(in, "Mailchimp");
}
static void
w_mailchimp(char *b, size_t n, const sift_advice_in *in)
{
    char note[256];

    strict_note(note, sizeof(note), in);
    snprintf(b, n,
             "Mailchimp: %s; Mailchimp has no custom return-path, so "
             "SPF never aligns and DKIM d=%s is the only way%s",
             in->service->fix, or_(in->from, in->domain), note);
}

/* SendGrid's and Postmark's custom return-path is a CNAME under From
 * pointing to the vendor: an include in the owner's SPF does nothing. */
static int
m_cname_rp(const sift_advice_in *in)
{
    return third(in) && (svc_is(in, "SendGrid") || svc_is(in, "Postmark"));
}
static void
w_cname_rp(char *b, size_t n, const sift_advice_in *in)
{
    char note[256];

    strict_note(note, sizeof(note), in);
    if (in->spf_include_published == 1) { /* resolve looked: it is there */
        snprintf(b, n,
                 "%s: %s is already in %s's SPF; what is missing is the "
                 "custom return-path: %s (a CNAME under %s pointing to "
                 "%s)%s",
                 in->service->name, in->service->spf_include, in->domain,
                 in->service->fix, or_(in->from, in->domain), in->service->name,
                 note);
        return;
    }
    snprintf(b, n,
             "%s: %s; the custom return-path is a CNAME under %s "
             "pointing to %s, so %s in your own SPF record does "
             "nothing%s",
             in->service->name, in->service->fix, or_(in->from, in->domain),
             in->service->name, or_(in->service->spf_include, "an include"),
             note);
}

/* SES: the include belongs in the custom MAIL FROM subdomain's record. */
static int
m_ses(const sift_advice_in *in)
{
    return third(in) && svc_is(in, "Amazon SES");
}
static void
w_ses(char *b, size_t n, const sift_advice_in *in)
{
    char note[256];
    const char *from = or_(in->from, in->domain);

    strict_note(note, sizeof(note), in);
    snprintf(b, n,
             "Amazon SES: verify %s with Easy DKIM (CNAMEs); for "
             "SPF, set a custom MAIL FROM subdomain (e.g. mail.%s) "
             "whose own SPF record holds %s; an include in the SPF "
             "of %s does nothing%s",
             from, from, or_(in->service->spf_include, "include:amazonses.com"),
             from, note);
}

/* Any other known service. */
static int
m_service(const sift_advice_in *in)
{
    return third(in) && in->service != NULL;
}
static void
w_service(char *b, size_t n, const sift_advice_in *in)
{
    char note[256];

    strict_note(note, sizeof(note), in);
    snprintf(b, n,
             "%s: %s (an SPF include alone does not align: the "
             "return-path must be under %s)%s",
             in->service->name, in->service->fix, or_(in->from, in->domain),
             note);
}

/* An identifier under From that only strict alignment rejects. */
static int
m_strict(const sift_advice_in *in)
{
    char note[256];

    if (!third(in))
        return 0;
    strict_note(note, sizeof(note), in);
    return note[0] != '\0';
}
static void
w_strict(char *b, size_t n, const sift_advice_in *in)
{
    const char *from = or_(in->from, in->domain);

    if (in->aspf_strict && in->env && related(in->env, from) &&
        strcasecmp(in->env, from) != 0)
        snprintf(b, n,
                 "SPF passes for %s, but aspf=s requires exactly %s: "
                 "sign with DKIM d=%s, use %s itself as return-path, "
                 "or publish aspf=r",
                 in->env, from, from, from);
    else
        snprintf(b, n,
                 "DKIM passes for d=%s, but adkim=s requires exactly "
                 "d=%s: sign with d=%s, or publish adkim=r",
                 or_(in->dkim, "?"), from, from);
}

/* An unknown signer or envelope: say both ways. */
static int
m_unknown(const sift_advice_in *in)
{
    return third(in) || is_cat(in, SIFT_CAT_DKIM_FAIL) ||
           is_cat(in, SIFT_CAT_DKIM_PERMERROR);
}
static void
w_unknown(char *b, size_t n, const sift_advice_in *in)
{
    const char *from = or_(in->from, in->domain);
    const char *who = in->cat == SIFT_CAT_SPF_NOT_ALIGNED || in->dkim == NULL
                          ? or_(in->env, "an unknown sender")
                          : in->dkim;

    snprintf(b, n,
             "unknown sender %s: if this service is yours, have it "
             "sign with DKIM d=%s (or send with a return-path under "
             "%s); if not, p=reject blocks it",
             who, from, from);
}

static int
m_spf_perm(const sift_advice_in *in)
{
    return is_cat(in, SIFT_CAT_SPF_PERMERROR);
}
static void
w_spf_perm(char *b, size_t n, const sift_advice_in *in)
{
    snprintf(b, n,
             "fix the SPF record of %s (permerror: syntax, more than "
             "10 DNS lookups or several records); until then nothing "
             "passes SPF for it",
             or_(in->env, or_(in->from, in->domain)));
}

/* A null reverse-path (bounce): SPF is checked on the HELO name. */
static int
m_null_rp(const sift_advice_in *in)
{
    return is_cat(in, SIFT_CAT_NULL_REVERSE_PATH);
}
static void
w_null_rp(char *b, size_t n, const sift_advice_in *in)
{
    snprintf(b, n,
             "bounces (null reverse-path) from %s: SPF is checked on "
             "the server's HELO name, so if it is yours publish SPF "
             "for that name with %s%s, or sign its bounces with DKIM "
             "d=%s; if not, p=reject blocks them",
             or_(in->ip, "this source"), ipmech(in), or_(in->ip, "..."),
             or_(in->from, in->domain));
}

static int
m_unauth(const sift_advice_in *in)
{
    (void)in;
    return 1;
}
static void
w_unauth(char *b, size_t n, const sift_advice_in *in)
{
    const char *from = or_(in->from, in->domain);
    const char *rec = in->env != NULL && in->env[0] && related(in->env, from)
                          ? in->env
                          : from;
    char extra[320] = "";

    if (in->dkim != NULL && related(in->dkim, from))
        snprintf(extra, sizeof(extra),
                 " and check the DKIM key of d=%s (its signature fails)",
                 in->dkim);
    else
        snprintf(extra, sizeof(extra), " and sign with DKIM d=%s", from);
    snprintf(b, n,
             "unauthenticated: if %s is your server, add %s%s to the "
             "SPF record of %s%s; if not, it is spoofing that "
             "p=reject blocks",
             or_(in->ip, "this source"), ipmech(in), or_(in->ip, "..."), rec,
             extra);
}

/* The owner's configuration says what the sender is (sift_owner.h). */
static int
m_not_ours(const sift_advice_in *in)
{
    return in->label == SIFT_LABEL_NOT_OURS && failing(in);
}
static void
w_not_ours(char *b, size_t n, const sift_advice_in *in)
{
    snprintf(b, n,
             "not yours (your configuration says so): mail from %s "
             "as %s is spoofing, and p=reject blocks it; do not "
             "authorize it",
             or_(in->ip, "it"), or_(in->from, in->domain));
}

static int
m_own_fwd(const sift_advice_in *in)
{
    return in->label == SIFT_LABEL_FORWARDER && failing(in) &&
           in->cat != SIFT_CAT_RECEIVER_OVERRIDE;
}
static void
w_own_fwd(char *b, size_t n, const sift_advice_in *in)
{
    snprintf(b, n,
             "a forwarder of yours (your configuration says so): "
             "failures after forwarding are expected; keep DKIM d=%s "
             "intact through it (no rewriting) or have it use SRS and "
             "ARC",
             or_(in->from, in->domain));
}

static int
m_own_unauth(const sift_advice_in *in)
{
    return (in->own_net || in->label == SIFT_LABEL_LEGITIMATE) &&
           in->service == NULL &&
           (in->cat == SIFT_CAT_UNAUTHENTICATED ||
            in->cat == SIFT_CAT_NULL_REVERSE_PATH);
}
static void
w_own_unauth(char *b, size_t n, const sift_advice_in *in)
{
    const char *from = or_(in->from, in->domain);
    const char *rec = in->env != NULL && in->env[0] && related(in->env, from)
                          ? in->env
                          : from;

    snprintf(b, n,
             "your server %s (your configuration says so) is not "
             "authorized: add %s%s to the SPF record of %s and sign "
             "with DKIM d=%s",
             or_(in->ip, "?"), ipmech(in), or_(in->ip, "..."),
             in->cat == SIFT_CAT_NULL_REVERSE_PATH ? "its HELO name" : rec,
             from);
}

static const arow rows[] = {
    {"owner_not_ours", m_not_ours, w_not_ours},
    {"owner_forwarder", m_own_fwd, w_own_fwd},
    {"owner_own_server", m_own_unauth, w_own_unauth},
    {"pass_forwarded", m_pass_fwd, w_pass_fwd},
    {"pass", m_pass, w_pass},
    {"dns_spf", m_spf_temp, w_spf_temp},
    {"dns_dkim", m_dkim_temp, w_dkim_temp},
    {"override", m_override, w_override},
    {"list", m_list, w_list},
    {"inconsistent", m_inconsistent, w_inconsistent},
    {"dkim_broken", m_dkim_fail, w_dkim_fail},
    {"service_own_mailfrom", m_own_mailfrom, w_own_mailfrom},
    {"service_mailchimp", m_mailchimp, w_mailchimp},
    {"service_cname_return_path", m_cname_rp, w_cname_rp},
    {"service_ses", m_ses, w_ses},
    {"service", m_service, w_service},
    {"strict_alignment", m_strict, w_strict},
    {"unknown_sender", m_unknown, w_unknown},
    {"spf_permerror", m_spf_perm, w_spf_perm},
    {"null_reverse_path", m_null_rp, w_null_rp},
    {"unauthenticated", m_unauth, w_unauth},
};

const char *
sift_advice(char *buf, size_t n, const sift_advice_in *in)
{
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].match(in)) {
            rows[i].write(buf, n, in);
            return rows[i].id;
        }
    }
    buf[0] = '\0'; /* not reached: the last row matches everything */
    return "none";
}

static const char *const kinds[SIFT_KIND__COUNT] = {
    "own", "service", "forwarder", "unknown", "unauthenticated"};

const char *
sift_kind_code(sift_sender_kind k)
{
    return (unsigned)k < SIFT_KIND__COUNT ? kinds[k] : "unknown";
}

/* --- from the model ------------------------------------------------------ */

static void
fill_in(sift_advice_in *in, const domain *d, sift_category cat,
        sift_sender_kind kind, const sift_sender *svc, const catx *x,
        const source *s)
{
    memset(in, 0, sizeof(*in));
    in->cat = cat;
    in->kind = kind;
    in->service = svc;
    in->domain = d->name;
    in->from = x ? x->from : NULL;
    in->env = x ? x->env : NULL;
    in->dkim = x ? x->dkim : NULL;
    in->ip = s && !s->folded ? s->ip : NULL; /* not other sources */
    in->label = s ? s->label : SIFT_LABEL_NONE;
    in->own_net = s ? s->own_net : 0;
    in->aspf_strict = d->aspf != NULL && strcasecmp(d->aspf, "s") == 0;
    in->adkim_strict = d->adkim != NULL && strcasecmp(d->adkim, "s") == 0;
    in->spf_include_published =
        d->pub == NULL || svc == NULL || svc->spf_include == NULL
            ? -1
            : sift_report__includes_has(d->pub, svc->spf_include);
    in->spf_lookups_published = d->pub ? d->pub->spf_lookups : -1;
}

void
sift_report__sender_advice(char *buf, size_t n, const domain *d,
                           const sender *s, sift_category cat)
{
    sift_advice_in in;

    fill_in(&in, d, cat, s->kind, s->service, s->cat_ex[cat], s->cat_src[cat]);
    (void)sift_advice(buf, n, &in);
}

void
sift_report__source_advice(char *buf, size_t n, const domain *d,
                           const source *s)
{
    const catx *x = NULL;
    sift_advice_in in;
    uint32_t i;

    for (i = 0; i < s->n_cx && x == NULL; i++) /* largest first */
        if (s->cx[i].cat != SIFT_CAT_PASS_DKIM_ALIGNED &&
            s->cx[i].cat != SIFT_CAT_PASS_SPF_ALIGNED &&
            s->cx[i].cat != SIFT_CAT_FORWARDED_DKIM_INTACT)
            x = &s->cx[i];
    if (x == NULL && s->n_cx > 0)
        x = &s->cx[0];
    if (x == NULL) {
        snprintf(buf, n, "none: all messages pass DMARC");
        return;
    }
    fill_in(&in, d, (sift_category)x->cat, s->kind, s->sender, x, s);
    (void)sift_advice(buf, n, &in);
}
