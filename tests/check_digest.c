/* check_digest.c -- the report digest at scale (issue 12):
 *   gen     a corpus from bench/gen.c: its spoofing records never land in
 *           a forwarder or service sender and are never told "nothing to
 *           fix"; its unconfigured-ESP records group under the ESP's name.
 *   corpus  the real reports in ../shared/corpus: the default text report
 *           is at most a few hundred lines and names every sender holding
 *           at least 5% of a domain's would-reject messages (exit 77,
 *           SKIPPED, when the corpus is absent).
 * Both ingest through the real binary into a real SQLite file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "report_int.h"
#include "store_int.h" /* SIFT_STORE_SCHEMA */
#include "testutil.h"

static char *dir;
static char dbpath[4200];

static void
ingest(const char *input)
{
    const char *argv[] = {SIFT_BINARY, "--db", dbpath, "ingest",
                          "--quiet",   input,  NULL};
    char *out = NULL, *err = NULL;
    int st = run(argv, NULL, &out, &err);

    /* 65: some inputs of the real corpus are broken on purpose */
    ck_assert_msg(st == 0 || st == 65, "ingest %s: exit %d: %s", input, st,
                  err);
    free(out);
    free(err);
}

static void
model(ctx *c, sift_store **st, const sift_report_opts *o)
{
    sift_err err;

    sift_err_clear(&err);
    ck_assert_int_eq(sift_store_open(st, dbpath, SIFT_STORE_READONLY, &err),
                     SIFT_OK);
    ck_assert_msg(sift_report__model(c, *st, NULL, o, &err) == SIFT_OK, "%s",
                  err.msg);
}

static int
spoof_ip(const char *ip)
{
    return strncmp(ip, "198.51.100.", 11) == 0 ||
           strncmp(ip, "203.0.113.", 10) == 0 ||
           strncmp(ip, "2001:db8:bad:", 13) == 0;
}

/* bench/gen.c's ESP ranges and the service each is. */
static const char *
esp_of(const char *ip)
{
    static const struct {
        const char *pfx, *name;
    } esps[] = {{"167.89.", "SendGrid"},   {"149.72.", "SendGrid"},
                {"168.245.", "SendGrid"},  {"198.2.", "Mailchimp"},
                {"205.201.", "Mailchimp"}, {"54.240.", "Amazon SES"},
                {"23.251.", "Amazon SES"}};
    size_t i;

    for (i = 0; i < sizeof(esps) / sizeof(esps[0]); i++)
        if (strncmp(ip, esps[i].pfx, strlen(esps[i].pfx)) == 0)
            return esps[i].name;
    return NULL;
}

static int
cx_has(const source *s, unsigned cat)
{
    uint32_t i;

    for (i = 0; i < s->n_cx; i++)
        if (s->cx[i].cat == cat)
            return 1;
    return 0;
}

START_TEST(test_gen_corpus_senders)
{
    sift_report_opts o = {SIFT_REPORT_TOP_DEFAULT, 0, 0, 0, NULL, 0, 0, 0};
    char out[4200];
    const char *gargv[] = {SIFT_GEN, "--seed",    "12", "--reports",
                           "300",    "--records", "40", "--format",
                           "xml",    out,         NULL};
    char *gout = NULL, *gerr = NULL;
    unsigned long spoof_sources = 0, esp_sources = 0, esp_unconf = 0;
    sift_store *st;
    size_t i;
    uint32_t k;
    ctx c;

    snprintf(out, sizeof(out), "%s/gen", dir);
    ck_assert_int_eq(run(gargv, NULL, &gout, &gerr), 0);
    free(gout);
    free(gerr);
    ingest(out);
    model(&c, &st, &o);
    for (i = 0; i < c.n_src; i++) {
        const source *s = &c.src[i];
        const domain *d = NULL;
        size_t j;

        for (j = 0; j < c.n_dom; j++)
            if (c.dom[j].name == s->domain)
                d = &c.dom[j];
        ck_assert_ptr_nonnull(d);
        if (spoof_ip(s->ip)) {
            spoof_sources++;
            ck_assert_msg(s->kind != SIFT_KIND_FORWARDER &&
                              s->kind != SIFT_KIND_SERVICE,
                          "spoofing source %s is a %s sender (%s)", s->ip,
                          sift_kind_code(s->kind), s->sender_name);
            for (k = 0; k < s->n_cx; k++) {
                sift_advice_in in;
                char adv[1024];

                memset(&in, 0, sizeof(in));
                in.cat = (sift_category)s->cx[k].cat;
                in.kind = s->kind;
                in.service = s->sender;
                in.domain = d->name;
                in.from = s->cx[k].from;
                in.env = s->cx[k].env;
                in.dkim = s->cx[k].dkim;
                in.ip = s->ip;
                (void)sift_advice(adv, sizeof(adv), &in);
                ck_assert_msg(strstr(adv, "nothing to fix") == NULL,
                              "spoofing source %s (%s) told: %s", s->ip,
                              sift_category_code(in.cat), adv);
                ck_assert_msg(in.cat != SIFT_CAT_FORWARDED_BOTH_BROKEN &&
                                  in.cat != SIFT_CAT_RECEIVER_OVERRIDE,
                              "spoofing source %s explained as %s", s->ip,
                              sift_category_code(in.cat));
            }
            /* and the sender block it is shown in says the same */
            for (k = 0; k < SIFT_CAT__COUNT; k++) {
                const sender *t = &c.snd[s->sender_idx];
                char adv[1024];
                if (t->cat_msgs[k] == 0)
                    continue;
                sift_report__sender_advice(adv, sizeof(adv), d, t,
                                           (sift_category)k);
                ck_assert_msg(strstr(adv, "nothing to fix") == NULL,
                              "sender of spoofing source %s told: %s", s->ip,
                              adv);
            }
        } else if (esp_of(s->ip) != NULL) {
            esp_sources++;
            /* an IP whose records all pass aligned (the ESP set up with the
             * domain's own d=) shows no ESP domain: it may be "own" */
            if (!cx_has(s, SIFT_CAT_UNCONFIGURED_THIRD_PARTY))
                continue;
            ck_assert_msg(s->kind == SIFT_KIND_SERVICE &&
                              strcmp(s->sender_name, esp_of(s->ip)) == 0,
                          "ESP source %s is '%s' (%s)", s->ip, s->sender_name,
                          sift_kind_code(s->kind));
            if (cx_has(s, SIFT_CAT_UNCONFIGURED_THIRD_PARTY))
                esp_unconf++;
        }
    }
    /* the scenarios are there at all */
    ck_assert_uint_gt(spoof_sources, 50);
    ck_assert_uint_gt(esp_sources, 20);
    ck_assert_uint_gt(esp_unconf, 10);
    /* one block per ESP and domain: its IPs share it */
    for (i = 0; i < c.n_snd; i++)
        if (c.snd[i].kind == SIFT_KIND_SERVICE &&
            strcmp(c.snd[i].name, "SendGrid") == 0)
            ck_assert_uint_gt(c.snd[i].n_src, 1);
    sift_report__model_free(&c);
    sift_store_close(st);
}
END_TEST

START_TEST(test_real_corpus_digest)
{
    sift_report_opts o = {SIFT_REPORT_TOP_DEFAULT, 0, 0, 0, NULL, 0, 0, 0};
    sift_report_totals t;
    char *text = NULL, *p;
    size_t n = 0, lines = 0, i, k, named = 0;
    sift_store *st;
    sift_err err;
    FILE *fp;
    ctx c;

    ingest(SIFT_CORPUS);
    model(&c, &st, &o);
    ck_assert_ptr_nonnull(fp = open_memstream(&text, &n));
    sift_err_clear(&err);
    ck_assert_int_eq(
        sift_report_write(fp, &t, st, NULL, &o, SIFT_FMT_TEXT, &err), SIFT_OK);
    fclose(fp);
    for (p = text; *p; p++)
        lines += *p == '\n';
    printf("corpus digest: %zu lines, %zu domains, %zu senders\n", lines,
           c.n_dom, c.n_snd);
    /* issue 13 added about 5 lines per domain (no report for N days, the
     * trend, readiness and the next step): 22 domains */
    ck_assert_msg(lines <= 520, "the digest has %zu lines", lines);
    ck_assert_uint_gt(c.n_dom, 5);
    for (i = 0; i < c.n_dom; i++) {
        const domain *d = &c.dom[i];
        for (k = d->first_snd; k < d->first_snd + d->n_snd; k++) {
            const sender *s = &c.snd[k];
            char line[512];
            if (s->would_reject == 0 || s->would_reject * 20 < d->would_reject)
                continue;
            /* its block: "name (kind): N messages" or "name: N ..." */
            snprintf(line, sizeof(line), "\n  %s", s->name);
            ck_assert_msg(strstr(text, line) != NULL,
                          "%s: sender %s (%lu of %lu would-reject) not named",
                          d->name, s->name, (unsigned long)s->would_reject,
                          (unsigned long)d->would_reject);
            named++;
        }
    }
    ck_assert_uint_gt(named, 3);
    free(text);
    sift_report__model_free(&c);
    sift_store_close(st);
}
END_TEST

static void
sql(const char *q)
{
    sqlite3 *db;
    char *msg = NULL;

    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, q, NULL, NULL, &msg) == SQLITE_OK, "%s: %s",
                  q, msg);
    sqlite3_close(db);
}

static long long
sql_int(const char *q)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long long v = -999;

    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* A database written by the previous schema and evaluation: verdicts
 * that called a rejected "other" exempted. report migrates it and
 * recomputes them; the next run does not. */
START_TEST(test_old_database_is_reevaluated)
{
    const char *ingest_argv[] = {
        SIFT_BINARY, "--db",    dbpath,
        "ingest",    "--quiet", SIFT_FIXTURES "/report/reevaluate.xml",
        NULL};
    const char *report_argv[] = {SIFT_BINARY, "--db", dbpath, "report",
                                 "--format",  "json", NULL};
    const char *reeval_argv[] = {SIFT_BINARY, "--db", dbpath, "reevaluate",
                                 NULL};
    char *out = NULL, *err = NULL;

    ck_assert_int_eq(run(ingest_argv, NULL, &out, &err), 0);
    free(out);
    free(err);
    ck_assert_int_eq(sql_int("SELECT sum(would_reject * count) FROM records"),
                     40);
    /* what 0.1.0 wrote: schema 1, no primary category, no evaluation
     * version, and the old verdict (overridden) */
    sql("UPDATE records SET outcome = 2, would_reject = 0,"
        " categories = categories | (1 << 20) WHERE count = 40;"
        "ALTER TABLE records DROP COLUMN primary_cat;"
        "ALTER TABLE reports DROP COLUMN eval_version;"
        " DROP TABLE IF EXISTS imap_settled;"
        " DROP TABLE IF EXISTS imap_mailboxes; DROP TABLE IF EXISTS dns_ptr;"
        " DROP TABLE IF EXISTS dns_published; DROP TABLE IF EXISTS dns_dkim;"
        " PRAGMA user_version = 1;");
    ck_assert_int_eq(run(report_argv, NULL, &out, &err), 0);
    ck_assert_msg(strstr(err, "reevaluated 2 records (evaluation version 0 "
                              "-> ") != NULL,
                  "%s", err);
    ck_assert_msg(strstr(out, "\"would_reject\": 40,") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\"code\": \"unauthenticated\", \"messages\": "
                              "40") != NULL,
                  "%s", out);
    free(out);
    free(err);
    ck_assert_int_eq(sql_int("PRAGMA user_version"), SIFT_STORE_SCHEMA);
    ck_assert_int_eq(sql_int("SELECT min(eval_version) FROM reports"),
                     SIFT_EVAL_VERSION);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE"
                             " name = 'evaluation'"),
                     0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM records WHERE primary_cat"
                             " < 0"),
                     0);
    ck_assert_int_eq(sql_int("SELECT sum(would_reject * count) FROM records"),
                     40);
    /* up to date now: nothing is recomputed, nothing said */
    ck_assert_int_eq(run(report_argv, NULL, &out, &err), 0);
    ck_assert_str_eq(err, "");
    free(out);
    free(err);
    /* on request */
    ck_assert_int_eq(run(reeval_argv, NULL, &out, &err), 0);
    ck_assert_msg(strstr(err, "reevaluated 2 records") != NULL, "%s", err);
    free(out);
    free(err);
}
END_TEST

/* Hosts of different builds on one database (issue 14): each report
 * carries the evaluation version of its verdicts; stats shows them when
 * they differ from this build's, report warns once, a newer build's
 * verdicts are never re-evaluated down, older ones are brought up. */
START_TEST(test_mixed_eval_versions)
{
    const char *stats_argv[] = {SIFT_BINARY, "--db", dbpath, "stats", NULL};
    const char *json_argv[] = {SIFT_BINARY, "--db", dbpath, "stats",
                               "--format",  "json", NULL};
    const char *report_argv[] = {SIFT_BINARY, "--db", dbpath, "report", NULL};
    const char *yahoo_argv[] = {SIFT_BINARY,  "--db",  dbpath, "report",
                                "--reporter", "YAHOO", NULL};
    const char *reeval_argv[] = {SIFT_BINARY, "--db", dbpath, "reevaluate",
                                 NULL};
    const int V = SIFT_EVAL_VERSION;
    char *out = NULL, *err = NULL, want[5000], q[200];
    long long sentinel;

    /* outlook (3 records), google (4), yahoo (2), all by this build */
    ingest(SIFT_FIXTURES "/sample/src");
    ck_assert_int_eq(sql_int("SELECT count(*) FROM reports"), 3);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM reports WHERE eval_version = %d", V);
    ck_assert_int_eq(sql_int(q), 3);
    /* one version, this build's: stats as ever, report says nothing */
    ck_assert_int_eq(run(stats_argv, NULL, &out, &err), 0);
    ck_assert_ptr_null(strstr(out, "evaluation"));
    free(out);
    free(err);
    ck_assert_int_eq(run(report_argv, NULL, &out, &err), 0);
    ck_assert_str_eq(err, "");
    free(out);
    free(err);

    /* google.com's report written by a newer build (its verdicts marked) */
    snprintf(q, sizeof(q),
             "UPDATE reports SET eval_version = %d WHERE org_name ="
             " 'google.com'",
             V + 1);
    sql(q);
    sql("UPDATE records SET flags = flags | (1 << 30) WHERE report_id IN"
        " (SELECT id FROM reports WHERE org_name = 'google.com')");
    sentinel = sql_int("SELECT sum(flags) FROM records");
    ck_assert_int_eq(run(stats_argv, NULL, &out, &err), 0);
    snprintf(want, sizeof(want),
             "conflicts:      0\n"
             "evaluation:     %d (2 reports), %d (1 report); this build has"
             " %d\n",
             V, V + 1, V);
    ck_assert_msg(strlen(out) > strlen(want) &&
                      strcmp(out + strlen(out) - strlen(want), want) == 0,
                  "%s", out);
    free(out);
    free(err);
    ck_assert_int_eq(run(json_argv, NULL, &out, &err), 0);
    snprintf(want, sizeof(want),
             "\"conflicts\": 0, \"evaluation_versions\": [{\"version\": %d,"
             " \"reports\": 2}, {\"version\": %d, \"reports\": 1}],"
             " \"build_evaluation_version\": %d}\n",
             V, V + 1, V);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    free(out);
    free(err);
    ck_assert_int_eq(run(report_argv, NULL, &out, &err), 0);
    snprintf(want, sizeof(want),
             "dmarcsift: %s: the verdicts of these reports come from"
             " evaluation versions %d (2 reports), %d (1 report); this build"
             " has %d: run 'dmarcsift reevaluate' with the newest dmarcsift"
             " (evaluation version %d)\n",
             dbpath, V, V + 1, V, V + 1);
    ck_assert_str_eq(err, want);
    free(out);
    free(err);
    /* the reports it covers: yahoo's alone are this build's */
    ck_assert_int_eq(run(yahoo_argv, NULL, &out, &err), 0);
    ck_assert_str_eq(err, "");
    free(out);
    free(err);
    /* reevaluate redoes this version's 5 records, not the newer ones */
    ck_assert_int_eq(run(reeval_argv, NULL, &out, &err), 0);
    snprintf(want, sizeof(want),
             "dmarcsift: reevaluated 5 records (evaluation version %d -> %d)\n"
             "dmarcsift: %s: left 1 report of a newer evaluation alone"
             " (version %d, this build has %d): run 'dmarcsift reevaluate'"
             " with the newest dmarcsift\n",
             V, V, dbpath, V + 1, V);
    ck_assert_str_eq(err, want);
    free(out);
    free(err);
    ck_assert_int_eq(sql_int("SELECT sum(flags) FROM records"), sentinel);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM reports WHERE eval_version = %d", V + 1);
    ck_assert_int_eq(sql_int(q), 1);

    /* yahoo's written by an older build: report (a writer) brings it up
     * first, then warns only about what is left */
    snprintf(q, sizeof(q),
             "UPDATE reports SET eval_version = %d WHERE org_name = 'Yahoo'",
             V - 1);
    sql(q);
    ck_assert_int_eq(run(stats_argv, NULL, &out, &err), 0);
    snprintf(want, sizeof(want),
             "evaluation:     %d (1 report), %d (1 report), %d (1 report);"
             " this build has %d\n",
             V - 1, V, V + 1, V);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    free(out);
    free(err);
    ck_assert_int_eq(run(yahoo_argv, NULL, &out, &err), 0);
    snprintf(want, sizeof(want),
             "dmarcsift: reevaluated 2 records (evaluation version %d -> %d)\n",
             V - 1, V);
    ck_assert_str_eq(err, want);
    free(out);
    free(err);
    snprintf(q, sizeof(q),
             "SELECT eval_version FROM reports WHERE org_name = 'Yahoo'");
    ck_assert_int_eq(sql_int(q), V);
    ck_assert_int_eq(sql_int("SELECT sum(flags) FROM records"), sentinel);
    ck_assert_int_eq(run(stats_argv, NULL, &out, &err), 0);
    snprintf(want, sizeof(want),
             "evaluation:     %d (2 reports), %d (1 report); this build has"
             " %d\n",
             V, V + 1, V);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out);
    free(out);
    free(err);
}
END_TEST

/* Sums never wrap (issue 18): counts near 2^64 saturate, and the
 * would-reject total stays above any --fail-on-reject threshold. */
START_TEST(test_counts_saturate)
{
    const char *ingest_argv[] = {
        SIFT_BINARY, "--db",    dbpath,
        "ingest",    "--quiet", SIFT_FIXTURES "/report/reevaluate.xml",
        NULL};
    const char *fail_argv[] = {SIFT_BINARY,        "--db", dbpath, "report",
                               "--fail-on-reject", "0",    NULL};
    sift_report_opts o = {SIFT_REPORT_TOP_DEFAULT, 0, 0, 0, NULL, 0, 0, 0};
    char *out = NULL, *err = NULL;
    sift_store *st;
    ctx c;

    ck_assert_int_eq(run(ingest_argv, NULL, &out, &err), 0);
    free(out);
    free(err);
    /* two failing records whose sum passes 2^64: stored as the 64-bit
     * pattern of the reported count, as store/ writes it */
    sql("INSERT INTO records (report_id, idx, source_ip, count, disposition,"
        " pe_dkim, pe_spf, header_from, envelope_from, dmarc_fail,"
        " would_reject, outcome, spf_aligned, dkim_aligned, categories,"
        " flags, primary_cat) SELECT report_id, idx + 10, '203.0.113.51',"
        " -2, disposition, pe_dkim, pe_spf, header_from, envelope_from,"
        " dmarc_fail, would_reject, outcome, spf_aligned, dkim_aligned,"
        " categories, flags, primary_cat FROM records WHERE count = 40");
    model(&c, &st, &o);
    ck_assert(c.tot.saturated);
    ck_assert(c.tot.would_reject == UINT64_MAX);
    ck_assert(c.tot.messages == UINT64_MAX);
    sift_report__model_free(&c);
    sift_store_close(st);
    ck_assert_int_eq(run(fail_argv, NULL, &out, &err), 1);
    ck_assert_msg(strstr(out, "counts saturated") != NULL, "%s", out);
    free(out);
    free(err);
}
END_TEST

static void
setup(void)
{
    dir = sandbox();
    snprintf(dbpath, sizeof(dbpath), "%s/test.db", dir);
}

static void
teardown(void)
{
    rm_rf(dir);
    free(dir);
}

int
main(int argc, char **argv)
{
    int corpus = argc > 1 && strcmp(argv[1], "corpus") == 0;
    Suite *s = suite_create("digest");
    TCase *tc = tcase_create(corpus ? "corpus" : "gen");
    SRunner *sr;
    int failed;

    if (corpus && !corpus_present("check_digest"))
        return 77;
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    if (corpus) {
        tcase_add_test(tc, test_real_corpus_digest);
    } else {
        tcase_add_test(tc, test_gen_corpus_senders);
        tcase_add_test(tc, test_old_database_is_reevaluated);
        tcase_add_test(tc, test_mixed_eval_versions);
        tcase_add_test(tc, test_counts_saturate);
    }
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
