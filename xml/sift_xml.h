/* sift_xml.h -- pull parser: one DMARC aggregate report in, records out.
 *
 * Streams with libxml2: memory is bounded per record, never per report.
 * Accepts every dialect in the wild (no namespace, dmarc-xml/0.1 and 0.2,
 * urn:ietf:params:xml:ns:dmarc-2.0 default or prefixed), repairs what
 * libxml2's recover mode can repair (each repair becomes a warning), and
 * refuses DTDs, entities and anything over the limits.
 *
 *     sift_xml *x; const sift_report_meta *meta; const sift_record *rec;
 *     rc = sift_xml_open(&x, &meta, reader, &lim, &err);
 *     while ((rc = sift_xml_next(x, &rec, &err)) == SIFT_OK) ...;
 *     if (rc == SIFT_ITEROVER) all records were read; meta->warnings done
 *     sift_xml_free(x);
 *
 * Errors: err->msg names the element and the problem, err->where is
 * "<reader name>:<line>", e.g. "r.xml:57" + "<count>: not an integer: '3x'".
 * Call sift_xml_init() once per process before anything else. */
#ifndef SIFT_XML_H
#define SIFT_XML_H

#include <stdint.h>
#include <stdio.h>

#include "sift_err.h"
#include "sift_hash.h"
#include "sift_limits.h"
#include "sift_reader.h"
#include "sift_record.h"

typedef struct sift_xml sift_xml;

/* Process-wide libxml2 setup: xmlInitParser() and a deny-all external
 * entity loader. Idempotent; call before threads start. */
void sift_xml_init(void);

/* Parse up to the first <record> (or the end of the document) and
 * validate the report-level required fields (report_id; org_name or
 * email; policy domain; date range).
 * Returns SIFT_OK with *out and *meta set; SIFT_ENOTREPORT (well-formed
 * XML of another kind: not a failure); SIFT_EFORMAT (malformed, missing
 * field), SIFT_ETOOBIG, or the reader's
 * error. On failure *out is NULL.
 * Ownership: *out is the caller's (sift_xml_free). *meta is borrowed and
 * valid until sift_xml_free(); the reader must outlive *out. */
int sift_xml_open(sift_xml **out, const sift_report_meta **meta,
                  sift_reader *in, const sift_limits *lim, sift_err *err);

/* Next record. Returns SIFT_OK with *rec set, SIFT_ITEROVER after the last
 * one (and on every later call), or an error (the report is then unusable:
 * do not store it; later calls return the same error). A record whose
 * <source_ip> is missing, empty or invalid is returned with source_ip NULL
 * and a warning: its messages still count.
 * Ownership: *rec is borrowed, valid until the next call or free. */
int sift_xml_next(sift_xml *x, const sift_record **rec, sift_err *err);

/* Consume the rest of the input without parsing records (used for a
 * duplicate report), so that sift_xml_content_hash() covers all bytes;
 * sift_xml_next() then returns SIFT_ITEROVER. The bytes are still counted
 * and scanned: returns SIFT_OK, the reader's error, SIFT_ETOOBIG (report
 * size) or SIFT_EFORMAT (a DOCTYPE/ENTITY further on). */
int sift_xml_drain(sift_xml *x, sift_err *err);

/* After sift_xml_next() failed with SIFT_EFORMAT (a bad record), read the
 * rest of the input through the byte scanner only, so that
 * sift_xml_content_hash() covers every byte as after sift_xml_drain()
 * (whose result a damaged copy of a stored report is compared with). The
 * report's own error stays. Returns SIFT_OK, or the error that stopped
 * the bytes (reader error, size limit, DOCTYPE): the hash is then
 * incomplete. */
int sift_xml_hash_rest(sift_xml *x, sift_err *err);

/* XXH3-128 of the document's bytes read so far, ignoring ASCII whitespace
 * (so CRLF/LF or re-indented copies hash alike). Complete after
 * SIFT_ITEROVER or sift_xml_drain(). */
sift_hash128 sift_xml_content_hash(const sift_xml *x);

/* Records returned so far and the sum of their counts. */
uint64_t sift_xml_records(const sift_xml *x);
uint64_t sift_xml_messages(const sift_xml *x);

void sift_xml_free(sift_xml *x); /* NULL is a no-op */

/* `dmarcsift inspect`: parse one report from `in` and write it to fp as
 * exactly one JSON Lines object (format in docs/inspect.md), streaming:
 * records are written as they are parsed. On a parse error the line is
 * still completed and valid JSON: the records array is closed and an
 * "error" key ("<where>: <msg>") ends the object.
 * Returns SIFT_OK, or the parse error (err set) after writing that line,
 * or SIFT_EIO if writing to fp failed. */
int sift_xml_inspect(FILE *fp, sift_reader *in, const sift_limits *lim,
                     sift_err *err);

#endif
