#!/bin/sh
# html_browser.sh BINARY FIXTURES -- `report --format html` in a real
# browser: headless Chromium loads the page from a file, its DOM
# (--dump-dom) holds every domain, the readiness state and a sender row,
# a hostile org_name (<script>, "><img onerror>) is text and never an
# element, and a screenshot is taken (desktop and phone widths). Skipped
# (77) without chromium; CI installs it (scripts/deps.sh).
# SIFT_HTML_SHOTS=DIR keeps the page and the screenshots there.
set -u
bin=$1 fixtures=$2
fail=0
no() { echo "FAIL: $*"; fail=1; }
browser=
for b in chromium chromium-browser; do
    if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
    echo "SKIPPED: html_browser (chromium not installed)"
    exit 77
fi
tmp=$(mktemp -d /tmp/sift-test-html-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export DMARCSIFT_CONFIG=/dev/null TZ=UTC LC_ALL=C SOURCE_DATE_EPOCH=1793577600
hostile='<script>document.title="pwned"</script>"><img src=x onerror="document.title=1">'
cat >"$tmp/hostile.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>$(printf '%s' "$hostile" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/"/\&quot;/g')</org_name>
    <email>dmarc@example.net</email>
    <report_id>&lt;img src=x onerror=alert(1)&gt;</report_id>
    <date_range><begin>1793491200</begin><end>1793577599</end></date_range>
  </report_metadata>
  <policy_published>
    <domain>example.net</domain><adkim>r</adkim><aspf>r</aspf>
    <p>none</p><pct>100</pct>
  </policy_published>
  <record>
    <row>
      <source_ip>192.0.2.1</source_ip><count>3</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated>
    </row>
    <identifiers><header_from>example.net</header_from></identifiers>
    <auth_results>
      <dkim><domain>example.net</domain><result>pass</result></dkim>
      <spf><domain>example.net</domain><result>pass</result></spf>
    </auth_results>
  </record>
</feedback>
XML
"$bin" --db "$tmp/t.db" ingest --quiet "$fixtures/sample/rua-export.mbox" \
    "$tmp/hostile.xml" || no "ingest failed"
"$bin" --db "$tmp/t.db" report --format html >"$tmp/report.html" ||
    no "report --format html failed"
run() { # run ARGS...: the browser, headless, with no network and no profile
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --disable-extensions \
        --user-data-dir="$tmp/profile" "$@" 2>"$tmp/browser.err"
}
run --dump-dom "file://$tmp/report.html" >"$tmp/dom.html" ||
    no "chromium --dump-dom failed: $(tail -n 3 "$tmp/browser.err")"
has() { grep -qF -- "$1" "$tmp/dom.html" || no "the DOM lacks: $1"; }
hasnt() { ! grep -qF -- "$1" "$tmp/dom.html" || no "the DOM has: $1"; }
has '<title>dmarcsift report</title>'
has '<h2>example.com</h2>'
has '<h2>example.net</h2>'
has '<span class="verdict not_ready">not_ready</span>'
has '<tr class="sender"><td>SendGrid'
has '<td data-l="Kind">own</td>'
# the hostile org_name is text in the policy line, not markup
has '<span class="org">&lt;script&gt;document.title="pwned"&lt;/script&gt;"&gt;&lt;img src=x onerror="document.title=1"&gt;</span>'
hasnt '<img'
hasnt 'pwned</title>'
[ "$(grep -c '<script' "$tmp/dom.html")" = 0 ] || no "a <script> element"
run --screenshot="$tmp/desktop.png" --window-size=1280,2200 \
    "file://$tmp/report.html" >/dev/null ||
    no "chromium --screenshot failed: $(tail -n 3 "$tmp/browser.err")"
run --screenshot="$tmp/phone.png" --window-size=390,2600 \
    "file://$tmp/report.html" >/dev/null ||
    no "chromium --screenshot (phone) failed"
for f in desktop phone; do
    # a PNG, and not a blank page: a page of text compresses less
    [ "$(head -c 8 "$tmp/$f.png" | od -An -tx1 | tr -d ' \n')" = \
        89504e470d0a1a0a ] || no "$f.png is not a PNG"
    [ "$(wc -c <"$tmp/$f.png")" -gt 20000 ] || no "$f.png looks blank"
done
if [ -n "${SIFT_HTML_SHOTS:-}" ]; then
    mkdir -p "$SIFT_HTML_SHOTS" &&
        cp "$tmp/report.html" "$tmp/dom.html" "$tmp/desktop.png" \
            "$tmp/phone.png" "$SIFT_HTML_SHOTS/"
fi
[ $fail = 0 ] && echo "html_browser: ok ($browser)"
exit $fail
