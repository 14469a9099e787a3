/* render_html.c -- `dmarcsift report --format html`: placeholder */
#include "report_int.h"

int
sift_report__html(FILE *fp, const ctx *c)
{
    (void)fp;
    (void)c;
    return SIFT_OK;
}
