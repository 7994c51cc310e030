"""Deterministic, realistic-looking text for the pkscan benchmark generators.

Python 3 standard library only. Everything is driven by a `random.Random`
instance handed in by the caller, so the same seed gives the same bytes.

Decoys: the corpora contain, now and then, `pk_`-prefixed things that are NOT
Klaviyo private keys (SQL primary-key names such as `pk_orders_id`, Stripe
publishable keys `pk_live_...`/`pk_test_...`, Mapbox `pk.eyJ...`, Django
`pk=pk_company`).  They never contain a key-shaped token (`pk_` + 34
alphanumerics, or `pk_` + 6 alphanumerics + `_` + 34 lowercase hex): the only
such tokens in generated data are the planted ones (see `make_key`).
"""

import json
import os
import random
import re
import shutil

WORDS = (
    "account order customer product cart item price total user session token "
    "event profile list segment flow campaign email sms metric catalog variant "
    "inventory shipping address billing payment invoice refund discount coupon "
    "subscription plan tier region store locale currency tax report export "
    "import job queue worker cache config option setting feature flag render "
    "view model controller service handler client server request response "
    "header body status error retry timeout limit offset page cursor filter "
    "sort query index search result value key name label title description "
    "image asset bundle chunk module package build deploy release version "
    "state action reducer effect hook context theme style layout grid row "
    "column cell table form input button modal dialog menu nav footer banner"
).split()

TABLES = ("orders customers products carts invoices payments shipments "
          "coupons profiles segments campaigns events sessions accounts").split()

KEY_RE = re.compile(rb"(?<![A-Za-z0-9])pk_(?:[A-Za-z0-9]{34}|[A-Za-z0-9]{6}_[0-9a-f]{34})(?![A-Za-z0-9])")
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
HEX = "0123456789abcdef"


def prepare_out(out, planted, force):
    """The output folder (absolute, created empty) and the planted-keys list's path
    (default: <out>.planted.txt); a non-empty folder is refused unless `force`."""
    out = os.path.abspath(out.rstrip("/"))
    if os.path.exists(out) and os.listdir(out):
        if not force:
            raise SystemExit("%s exists and is not empty (use --force)" % out)
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    return out, planted or out + ".planted.txt"


def make_key(rng, new_shape=False):
    """A synthetic, random private-key-shaped token (never a real key)."""
    if new_shape:
        return "pk_" + "".join(rng.choice(ALNUM) for _ in range(6)) + "_" + \
            "".join(rng.choice(HEX) for _ in range(34))
    return "pk_" + "".join(rng.choice(HEX) for _ in range(34))


def ident(rng, n=None):
    n = n or rng.randint(1, 3)
    ws = [rng.choice(WORDS) for _ in range(n)]
    return ws[0] + "".join(w.capitalize() for w in ws[1:])


def snake(rng, n=None):
    n = n or rng.randint(1, 3)
    return "_".join(rng.choice(WORDS) for _ in range(n))


def rstr(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def decoy(rng):
    """One line fragment with a pk_-prefixed thing that is not a Klaviyo key."""
    t = rng.choice(TABLES)
    c = rng.choice(("id", "customer_id", "account_id", "created_at", "sku"))
    k = rng.randrange(6)
    if k == 0:
        return "CONSTRAINT pk_%s_%s PRIMARY KEY (%s)" % (t, c, c)
    if k == 1:
        return "stripe = Stripe('pk_live_%s')" % rstr(rng, ALNUM, rng.choice((24, 40, 99)))
    if k == 2:
        return "STRIPE_PUBLISHABLE_KEY=pk_test_%s" % rstr(rng, ALNUM, rng.choice((24, 50, 99)))
    if k == 3:
        return "mapboxgl.accessToken = 'pk.eyJ1Ijoi%s.%s'" % (rstr(rng, ALNUM, 40), rstr(rng, ALNUM, 22))
    if k == 4:
        return "Company.objects.filter(company_id=pk_company, pk__in=pk_%s_ids)" % t
    return "ALTER TABLE %s DROP CONSTRAINT pk_%s;" % (t, t)


# ---------------------------------------------------------------- line makers

def _js(rng):
    k = rng.randrange(14)
    a, b = ident(rng), ident(rng)
    if k == 0:
        return "import { %s, %s } from './%s';" % (a, b, snake(rng, 1))
    if k == 1:
        return "export function %s(%s, options = {}) {" % (a, b)
    if k == 2:
        return "  const %s = await fetch(`/api/%s/${%s}`, { method: 'GET' });" % (a, snake(rng, 1), b)
    if k == 3:
        return "  if (!%s || %s.length === 0) return null;" % (a, a)
    if k == 4:
        return "  return %s.map((x) => ({ ...x, %s: x.%s ?? %d }));" % (a, b, b, rng.randint(0, 999))
    if k == 5:
        return "}"
    if k == 6:
        return "  // TODO: %s the %s before %s" % (rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS))
    if k == 7:
        return "  %s.%s = %s;" % (a, b, rng.choice(("true", "false", "null", str(rng.randint(0, 10**6)), "'%s'" % rng.choice(WORDS))))
    if k == 8:
        return ""
    if k == 9:
        return "const %s = require('%s');" % (a, rng.choice(("lodash", "axios", "express", "react", "dayjs", "uuid")))
    if k == 10:
        return "  for (const %s of %s) { %s.push(%s.%s); }" % (a[:1], b, a, a[:1], rng.choice(WORDS))
    if k == 11:
        return "  console.log('%s %s', %s);" % (rng.choice(WORDS), rng.choice(WORDS), a)
    if k == 12:
        return "  throw new Error(`%s %s failed: ${%s}`);" % (rng.choice(WORDS), rng.choice(WORDS), a)
    return "export default %s;" % a


def _ts(rng):
    if rng.random() < 0.3:
        return "export interface %s { %s: %s; %s?: %s }" % (
            ident(rng, 2).capitalize(), ident(rng), rng.choice(("string", "number", "boolean")),
            ident(rng), rng.choice(("string[]", "Date", "Record<string, unknown>")))
    return _js(rng)


def _py(rng):
    k = rng.randrange(12)
    a, b = snake(rng), snake(rng)
    if k == 0:
        return "from %s import %s" % (rng.choice(("typing", "datetime", "django.db", "app.models", "requests")), ident(rng).capitalize())
    if k == 1:
        return "def %s(%s, **kwargs):" % (a, b)
    if k == 2:
        return "    %s = %s.get(%r, %d)" % (a, b, rng.choice(WORDS), rng.randint(0, 100))
    if k == 3:
        return "    if not %s:\n        return None" % a
    if k == 4:
        return "    return [x for x in %s if x.%s]" % (a, rng.choice(WORDS))
    if k == 5:
        return ""
    if k == 6:
        return "class %s(%s):" % (ident(rng, 2).capitalize(), rng.choice(("object", "models.Model", "Exception")))
    if k == 7:
        return "    # %s %s %s" % (rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS))
    if k == 8:
        return "    logger.info(\"%s %%s\", %s)" % (rng.choice(WORDS), a)
    if k == 9:
        return "    %s = models.CharField(max_length=%d, blank=True)" % (a, rng.choice((32, 64, 255)))
    if k == 10:
        return "        raise ValueError(f\"bad %s: {%s!r}\")" % (rng.choice(WORDS), a)
    return "%s = os.environ.get(\"%s\", \"\")" % (a.upper(), b.upper())


def _rb(rng):
    k = rng.randrange(8)
    a, b = snake(rng), snake(rng)
    if k == 0:
        return "  def %s(%s)" % (a, b)
    if k == 1:
        return "  end"
    if k == 2:
        return "    @%s = %s.fetch(:%s, %d)" % (a, b, rng.choice(WORDS), rng.randint(0, 99))
    if k == 3:
        return "class %s < ApplicationRecord" % ident(rng, 2).capitalize()
    if k == 4:
        return "    %s.each { |x| x.%s! }" % (a, rng.choice(WORDS))
    if k == 5:
        return "  has_many :%s, dependent: :destroy" % a
    if k == 6:
        return ""
    return "    Rails.logger.info(\"%s #{%s}\")" % (rng.choice(WORDS), a)


def _go(rng):
    k = rng.randrange(8)
    a, b = ident(rng), ident(rng)
    if k == 0:
        return "func (s *%s) %s(ctx context.Context, %s string) error {" % (a.capitalize(), b.capitalize(), a)
    if k == 1:
        return "\tif err != nil {\n\t\treturn fmt.Errorf(\"%s: %%w\", err)\n\t}" % rng.choice(WORDS)
    if k == 2:
        return "}"
    if k == 3:
        return "\t%s := make(map[string]%s, %d)" % (a, rng.choice(("int", "string", "*Item", "[]byte")), rng.randint(0, 64))
    if k == 4:
        return "type %s struct {\n\t%s string `json:\"%s\"`\n}" % (a.capitalize(), b.capitalize(), snake(rng, 1))
    if k == 5:
        return ""
    if k == 6:
        return "\t// %s %s %s" % (rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS))
    return "\treturn %s.%s(%s)" % (a, b.capitalize(), rng.choice(("ctx", "nil", "id")))


def _json_line(rng):
    return "  %s," % json.dumps({ident(rng): rng.choice((rng.randint(0, 10**6), rng.choice(WORDS), True, None)),
                                  "id": rng.randint(1, 10**7), "name": " ".join(rng.choice(WORDS) for _ in range(3))})


def _yaml(rng):
    k = rng.randrange(5)
    if k == 0:
        return "%s:" % snake(rng, 1)
    if k == 1:
        return "  %s: %s" % (snake(rng), rng.choice(("true", "false", str(rng.randint(0, 9999)), rng.choice(WORDS))))
    if k == 2:
        return "  - name: %s\n    image: %s:%d.%d" % (snake(rng), rng.choice(WORDS), rng.randint(1, 9), rng.randint(0, 30))
    if k == 3:
        return "    %s: \"${%s}\"" % (snake(rng, 1), snake(rng).upper())
    return ""


def _md(rng):
    k = rng.randrange(6)
    if k == 0:
        return "## %s %s" % (rng.choice(WORDS).capitalize(), rng.choice(WORDS))
    if k == 1:
        return ""
    if k == 2:
        return "- `%s`: %s" % (snake(rng), " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))))
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))).capitalize() + "."


def _css(rng):
    k = rng.randrange(4)
    if k == 0:
        return ".%s-%s {" % (rng.choice(WORDS), rng.choice(WORDS))
    if k == 1:
        return "}"
    return "  %s: %s;" % (rng.choice(("margin", "padding", "color", "display", "font-size", "border")),
                          rng.choice(("0 auto", "#%06x" % rng.randrange(1 << 24), "flex", "%dpx" % rng.randint(0, 64), "none")))


def _html(rng):
    k = rng.randrange(6)
    if k == 0:
        return "<div class=\"%s-%s\">" % (rng.choice(WORDS), rng.choice(WORDS))
    if k == 1:
        return "</div>"
    if k == 2:
        return "  <a href=\"/%s/%s\">%s</a>" % (rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS).capitalize())
    if k == 3:
        return "  <p>%s</p>" % " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 20)))
    if k == 4:
        return "  <img src=\"/assets/%s.png\" alt=\"%s\">" % (snake(rng, 1), rng.choice(WORDS))
    return "<script src=\"/static/js/%s.%08x.js\"></script>" % (rng.choice(WORDS), rng.getrandbits(32))


def _sql(rng):
    k = rng.randrange(4)
    t = rng.choice(TABLES)
    if k == 0:
        return "CREATE TABLE %s (id bigint NOT NULL, %s text, created_at timestamptz);" % (t, snake(rng, 1))
    if k == 1:
        return "INSERT INTO %s (id, %s) VALUES (%d, '%s');" % (t, snake(rng, 1), rng.randint(1, 10**6), rng.choice(WORDS))
    if k == 2:
        return "SELECT * FROM %s WHERE %s = $1 ORDER BY id LIMIT %d;" % (t, snake(rng, 1), rng.randint(1, 500))
    return "CREATE INDEX idx_%s_%s ON %s (%s);" % (t, rng.choice(WORDS), t, rng.choice(WORDS))


def _log(rng):
    return "2024-%02d-%02dT%02d:%02d:%02d.%03dZ %s [%s] %s %s id=%d" % (
        rng.randint(1, 12), rng.randint(1, 28), rng.randrange(24), rng.randrange(60), rng.randrange(60),
        rng.randrange(1000), rng.choice(("INFO", "WARN", "DEBUG", "ERROR")), snake(rng, 1),
        rng.choice(WORDS), rng.choice(WORDS), rng.randint(1, 10**9))


LINE_MAKERS = {
    "js": _js, "ts": _ts, "py": _py, "rb": _rb, "go": _go, "json": _json_line,
    "yaml": _yaml, "md": _md, "css": _css, "html": _html, "sql": _sql, "log": _log,
}


def corpus(rng, kind, nbytes, decoy_rate=1 / 3000):
    """About nbytes of newline-terminated lines of the given kind, as bytes."""
    maker = LINE_MAKERS[kind]
    out, n = [], 0
    while n < nbytes:
        line = maker(rng)
        if rng.random() < decoy_rate:
            line = {"py": "# ", "rb": "# ", "yaml": "# ", "sql": "-- ", "md": "", "log": ""}.get(kind, "// ") \
                + decoy(rng) if kind not in ("json", "html", "css") else line
        out.append(line)
        n += len(line) + 1
    b = ("\n".join(out) + "\n").encode()
    assert not KEY_RE.search(b), "corpus produced a key-shaped token"
    return b


def tg_word(rng):
    return "%s-%s" % (rng.choice(WORDS), rng.choice(WORDS))


def minified_corpus(rng, nbytes):
    """About nbytes of one-line minified JavaScript (no newline)."""
    frags = []
    n = 0
    v = "abcdefghijklmnopqrstuvwxyz"
    while n < nbytes:
        k = rng.randrange(10)
        x, y, z = rng.choice(v), rng.choice(v), rng.choice(v)
        if k == 0:
            f = "function %s(%s,%s){return %s.%s(%s)}" % (x, y, z, y, ident(rng), z)
        elif k == 1:
            f = "var %s=%s(%d),%s=%s.n(%s);" % (x, y, rng.randint(0, 99999), z, y, x)
        elif k == 2:
            f = "%s.exports={%s:\"%s\",%s:%d};" % (x, ident(rng), " ".join(rng.choice(WORDS) for _ in range(3)), ident(rng), rng.randint(0, 10**5))
        elif k == 3:
            f = "if(!%s||%s.length===0)return null;" % (x, x)
        elif k == 4:
            f = "%s.prototype.%s=function(%s){this.%s=%s};" % (x.upper(), ident(rng), y, ident(rng), y)
        elif k == 5:
            f = "Object.defineProperty(%s,\"%s\",{enumerable:!0,get:function(){return %s}});" % (x, ident(rng), y)
        elif k == 6:
            f = "%d:function(%s,%s,%s){\"use strict\";" % (rng.randint(0, 99999), x, y, z)
        elif k == 7:
            f = "}," if rng.random() < 0.5 else "})"
        elif k == 8:
            f = "fetch(\"/api/%s/\"+%s).then(function(%s){return %s.json()});" % (snake(rng, 1), x, y, y)
        elif rng.random() < 0.01:  # an inline data: URI, as bundlers emit for small assets
            f = "%s=\"data:image/png;base64,%s\";" % (x, "".join(rng.choice(ALNUM + "+/") for _ in range(rng.randint(200, 2000))))
        else:  # content hashes, css class names, short ids
            f = "%s=\"%s\";" % (x, rng.choice(("%08x" % rng.getrandbits(32), "%020x" % rng.getrandbits(80),
                                                  "css-%s" % "".join(rng.choice(ALNUM) for _ in range(6)), tg_word(rng))))
        if rng.random() < 1 / 4000:
            f = "var _s=\"%s\";" % decoy(rng).replace("'", "").replace("\"", "")
        frags.append(f)
        n += len(f)
    b = "".join(frags).encode()
    assert not KEY_RE.search(b), "minified corpus produced a key-shaped token"
    return b


class Sampler:
    """Cuts byte ranges at line starts out of a corpus, cheaply."""

    def __init__(self, data):
        self.data = data
        self.mv = memoryview(data)
        starts = [0]
        i = data.find(b"\n")
        while i != -1 and i + 1 < len(data):
            starts.append(i + 1)
            i = data.find(b"\n", i + 1)
        self.starts = starts

    def chunk(self, rng, nbytes):
        """A slice of at most min(nbytes, len/2) bytes starting at a line start."""
        nbytes = min(nbytes, len(self.data) // 2)
        s = self.starts[rng.randrange(len(self.starts))]
        if s + nbytes > len(self.data):
            s = self.starts[rng.randrange(len(self.starts) // 4)]
        e = self.data.rfind(b"\n", s, s + nbytes)
        e = s + nbytes if e <= s else e + 1  # end on a line break when possible
        return self.mv[s:e]

    def lines(self, rng, n):
        """n whole lines (bytes, newline-terminated) from a random place."""
        i = rng.randrange(max(1, len(self.starts) - n - 1))
        end = self.starts[i + n] if i + n < len(self.starts) else len(self.data)
        return bytes(self.mv[self.starts[i]:end])
