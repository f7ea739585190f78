#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen-manpages.py — man pages for libvirtio-xen, generated from its public headers.

One section-3 page per public function (made from the doc comment right above its declaration),
and virtio-xen(7), an overview made from the umbrella header and the top comment of every public
header. Hand-written pages in --extra-dir DIR/man<N>/*.<N> (e.g. doc/man8/xensimd.8 when given
--extra-dir doc) are copied in as they are. Pages are written to OUT/man3, OUT/man7, OUT/man<N>;
those directories are emptied first, so a page never outlives its function.

Doc comments follow the kernel-doc shape used by the headers:

    /**
     * vxen_x_new() - one-line summary. Further sentences.
     * @out: receives ...
     *
     * Paragraphs. A line starting with a tab is code; "- " or "1. " starts a list item.
     * Returns 0 or -errno ...
     */
    int vxen_x_new(vxen_x **out, ...);

A comment may cover several declarations that follow it without a blank line
("vxen_a() / vxen_b() - ..."); each function gets a page naming all of them.

With --strict, a public function without a doc comment, a comment whose "name() -" prefix does
not name the function(s) below it, or an @name that is no parameter of them is an error
(exit 1). Without it these are warnings and the page says the function is undocumented.
Only the Python standard library is used.
"""

import argparse
import datetime
import os
import re
import shutil
import sys

MANUAL = "libvirtio-xen Manual"

# Characters the headers use that roff should not get raw (output stays 7-bit clean).
GLYPHS = {
    "\u2014": r"\(em", "\u2013": r"\(en", "\u2264": r"\(<=", "\u2265": r"\(>=",
    "\u2192": r"\(->", "\u2190": r"\(<-", "\u00d7": r"\(mu", "\u2026": r".\|.\|.",
    "\u00a7": r"\(sc", "\u2018": r"\(oq", "\u2019": r"\(cq", "\u201c": r"\(lq",
    "\u201d": r"\(rq", "\u00b1": r"\(+-", "\u2260": r"\(!=", "\u00b7": r"\(pc",
    "\u00b5": r"\(mc", "\u2248": r"\(~~", "\u2022": r"\(bu",
}

def warn(msg):
    print("gen-manpages: " + msg, file=sys.stderr)


# --------------------------------------------------------------------------------------------
# Header parsing


def strip_code(text):
    """Remove comments and string literals from C text, keeping newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""')
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def comment_lines(raw):
    """The text lines of a /* */ comment, without the comment markers and ' * ' prefixes."""
    body = re.sub(r"^\s*/\*+", "", raw)
    body = re.sub(r"\*+/\s*$", "", body)
    lines = []
    for line in body.split("\n"):
        line = line.rstrip()
        line = re.sub(r"^\s*\*(?: (?=\t)| )?", "", line, count=1)
        lines.append(line)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and not lines[0].startswith("\t"):
        lines[0] = lines[0].lstrip()
    return lines


class Item:
    """A top-level declaration, with the doc comment above it (if any)."""

    def __init__(self, header, comment, code, kind, name, params=None, line=0):
        self.header = header  # "vq.h"
        self.comment = comment  # list of lines, or None
        self.comment_raw = None  # source text of the comment
        self.code = code  # source text of the declaration
        self.kind = kind  # "func", "static", "type", "other"
        self.name = name
        self.params = params or []
        self.line = line
        self.group = [self]  # declarations sharing the comment


class Header:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.top = []  # top comment lines
        self.items = []


def split_params(arglist):
    """Split a parameter list at top-level commas."""
    parts, depth, cur = [], 0, ""
    for c in arglist:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        parts.append(cur.strip())
    return parts


def param_name(param):
    """The name a parameter declares ('out' for 'vxen_x **out', 'fn' for 'void (*fn)(int)')."""
    m = re.search(r"\(\s*\*\s*(\w+)\s*\)", param)
    if m:
        return m.group(1)
    m = re.search(r"(\w+)\s*(\[[^\]]*\]\s*)*$", param)
    if m and m.group(1) not in ("void", "int", "char", "long", "short", "unsigned"):
        return m.group(1)
    return None


def classify(code_text):
    """(kind, name, params) of one top-level statement (comments removed)."""
    flat = " ".join(strip_code(code_text).split())
    if flat.startswith("typedef"):
        m = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", flat)
        if m:
            return "type", m.group(1), []
        m = re.search(r"(\w+)\s*;$", flat)
        opaque = re.match(r"typedef (struct|union|enum) (\w+) (\w+);$", flat)
        return ("opaque" if opaque else "type"), (m.group(1) if m else None), []
    m = re.match(r"(struct|union|enum)\s+(\w+)\s*\{", flat)
    if m:
        return "type", m.group(1) + " " + m.group(2), []
    m = re.match(r"([^(){};=]*?)\b([A-Za-z_]\w*)\s*\((.*)\)\s*(;|\{.*\}\s*;?)$", flat)
    if m:
        kind = "static" if re.search(r"\bstatic\b", m.group(1)) else "func"
        params = [p for p in map(param_name, split_params(m.group(3))) if p]
        return kind, m.group(2), params
    return "other", None, []


def parse_header(path):
    hdr = Header(path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i, n = 0, len(lines)
    pending, pending_raw = None, None
    last_func = None  # previous item of the current group
    top_done = False
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if line.startswith("/*"):
            j = i
            while "*/" not in lines[j] and j + 1 < n:
                j += 1
            raw = "\n".join(lines[i : j + 1])
            i = j + 1
            if "SPDX-License-Identifier" in raw and not top_done:
                continue
            if not top_done:
                hdr.top = comment_lines(raw)
                top_done = True
                continue
            pending, pending_raw = comment_lines(raw), raw
            last_func = None
            continue
        if not stripped:
            pending, pending_raw, last_func = None, None, None
            i += 1
            continue
        if stripped.startswith("#"):
            while lines[i].rstrip().endswith("\\") and i + 1 < n:
                i += 1
            i += 1
            if not stripped.startswith(("#include", "#ifdef __cplusplus", "#endif")):
                pending, pending_raw = None, None
            continue
        if stripped in ('extern "C" {', "}"):
            i += 1
            continue
        # A declaration: up to the ';' (or closing brace of an inline definition) at depth 0.
        start, text = i, []
        while i < n:
            text.append(lines[i])
            i += 1
            code = strip_code("\n".join(text))
            depth = code.count("{") - code.count("}")
            c = code.rstrip()
            if depth <= 0 and (c.endswith(";") or (c.endswith("}") and "(" in code)):
                if c.endswith("}") and i < n and lines[i].strip() == ";":
                    i += 1
                break
        code_text = "\n".join(text)
        kind, name, params = classify(code_text)
        item = Item(hdr.name, pending, code_text, kind, name, params, start + 1)
        item.comment_raw = pending_raw
        if kind in ("func", "static"):
            if last_func is not None and pending is not None:
                item.group = last_func.group
                item.group.append(item)
            last_func = item
        else:
            last_func = None
        hdr.items.append(item)
    return hdr


# --------------------------------------------------------------------------------------------
# Doc comment structure

# "@name: text" or "@a, @b: text"; a "(note)" may follow a name.
PARAM_RE = re.compile(r"\s*((?:@\w+(?:\s*\([^)]*\))?\s*,?\s*)+):\s*(.*)$")
NAMES_RE = re.compile(r"^((?:[A-Za-z_]\w*\(\)\s*(?:/|,|and|or)?\s*)+?)\s*-\s+(.*)$", re.S)


def first_sentence(text):
    """Split text after its first sentence (not inside parentheses, not at e.g./i.e.)."""
    depth = 0
    for k, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth = max(0, depth - 1)
        elif c == "." and depth == 0:
            nxt = text[k + 1 : k + 2]
            if nxt and not nxt.isspace():
                continue
            before = text[max(0, k - 4) : k]
            if re.search(r"(\be\.g|\bi\.e|\betc|\bvs|\.)$", before):
                continue
            return text[:k].strip(), text[k + 1 :].strip()
    return text.strip().rstrip("."), ""


class Doc:
    def __init__(self, lines):
        self.names = []
        self.summary = ""
        self.lead = ""  # rest of the head paragraph
        self.params = []  # (label, text, [names])
        self.body = []  # comment lines after the head and params
        k = 0
        head = []
        while k < len(lines) and lines[k].strip() and not PARAM_RE.match(lines[k]):
            head.append(lines[k].strip())
            k += 1
        head_text = " ".join(head)
        m = NAMES_RE.match(head_text)
        if m:
            self.names = re.findall(r"(\w+)\(\)", m.group(1))
            head_text = m.group(2)
        self.summary, self.lead = first_sentence(head_text)
        # Parameters, each continued on indented lines.
        while k < len(lines):
            pm = PARAM_RE.match(lines[k])
            if not pm:
                break
            k += 1
            names = re.findall(r"@(\w+)", pm.group(1))
            text = [pm.group(2)]
            while k < len(lines) and lines[k][:1] == " " and lines[k].strip() \
                    and not lines[k].lstrip().startswith("@"):
                text.append(lines[k].strip())
                k += 1
            self.params.append((", ".join(names), " ".join(text), names))
        self.body = lines[k:]


# --------------------------------------------------------------------------------------------
# roff output


def esc(text, code=False):
    """Escape text for roff; in code every '-' is a minus (ASCII hyphen-minus on output)."""
    out = []
    text = text.replace("\\", "\\e")
    if code:
        text = text.replace("-", "\\-")
    for c in text:
        if c in GLYPHS:
            out.append(GLYPHS[c])
        elif ord(c) > 127:
            out.append("\\[u%04X]" % ord(c))
        else:
            out.append(c)
    s = "".join(out)
    if code:
        return s
    # A minus sign: -EINVAL, -errno, -1 (not the hyphen of "grant-DMA").
    s = re.sub(r"(?<![\w\\-])-(?=[\w])", r"\\-", s)
    return s


def line_safe(s):
    """Make a text line safe at the start of a roff input line."""
    s = s.lstrip()
    if s.startswith((".", "'")):
        s = "\\&" + s
    return s


class Markup:
    def __init__(self, functions):
        self.functions = functions

    def text(self, s):
        s = esc(s)

        def fn(m):
            name = m.group(1)
            if name in self.functions:
                return "\\fB%s\\fP()" % name
            return m.group(0)

        s = re.sub(r"\b([A-Za-z_]\w*)\(\)", fn, s)
        s = re.sub(r"@(\w+)", r"\\fI\1\\fP", s)
        s = re.sub(r"(?<![\w*])\*(\w[^*]*\w)\*(?![\w*])", r"\\fI\1\\fP", s)
        return line_safe(s)

    def code(self, s):
        s = s.expandtabs(8).rstrip()
        s = esc(s, code=True)
        if s.startswith((".", "'")):
            s = "\\&" + s
        return s


def is_code(line):
    return line.startswith("\t") or bool(re.match(r"^ {2,}\S.*\S {2,}\S", line))


def render_blocks(lines, mk, out):
    """Comment lines to roff: paragraphs, (nested) lists, code examples.

    A line starting with a tab is code. "- ", "* " or "1. " starts a list item; deeper-indented
    items nest; an indented line continues the deepest item it is indented under; a line at
    column 0 ends every list.
    """
    k, n = 0, len(lines)
    stack = []  # open list levels: [bullet indent, .IP width]
    # Whether text precedes in the current paragraph, so a new one needs .PP.
    started = bool(out) and not re.match(r"\.(PP|SH|SS|TP|IP|EE)\b", out[-1])
    need_break = False

    def close_to(depth):
        while len(stack) > depth:
            stack.pop()
            if stack:  # a nested level was opened with .RS
                out.append(".RE")

    while k < n:
        line = lines[k]
        if not line.strip():
            need_break = True
            k += 1
            continue
        if is_code(line):
            block = []
            while k < n:
                if is_code(lines[k]):
                    block.append(lines[k])
                    k += 1
                elif not lines[k].strip() and k + 1 < n and is_code(lines[k + 1]):
                    block.append("")
                    k += 1
                else:
                    break
            prefix = min((len(b) - len(b.lstrip("\t")) for b in block if b.strip()), default=0)
            if stack:
                out.append('.IP "" %d' % stack[-1][1])
            elif started:
                out.append(".PP")
            out.append(".EX")
            for b in block:
                out.append(mk.code(b[prefix:] if b.startswith("\t") else b.strip()))
            out.append(".EE")
            started, need_break = True, True
            continue
        indent = len(line) - len(line.lstrip(" "))
        item = re.match(r"^(\s*)([-*]|\d+\.)\s+(.*)$", line)
        if item:
            while stack and stack[-1][0] > indent:
                close_to(len(stack) - 1)
            if not stack or stack[-1][0] < indent:
                if stack:
                    out.append(".RS")
                elif started:
                    out.append(".PP")
                width = 4 if item.group(2)[0].isdigit() else 3
                stack.append([indent, width])
            bullet = "\\(bu" if item.group(2) in "-*" else item.group(2)
            out.append(".IP %s %d" % (bullet, stack[-1][1]))
            out.append(mk.text(item.group(3)))
            started, need_break = True, False
            k += 1
            continue
        if stack and indent > 0:
            popped = False
            while len(stack) > 1 and indent <= stack[-1][0]:
                close_to(len(stack) - 1)
                popped = True
            if need_break or popped:
                out.append('.IP "" %d' % stack[-1][1])
        else:
            was_list = bool(stack)
            close_to(0)
            if started and (need_break or was_list):
                out.append(".PP")
        out.append(mk.text(line))
        started, need_break = True, False
        k += 1
    close_to(0)


# --------------------------------------------------------------------------------------------
# Pages


def wrap_proto(code_text, width=78):
    """A declaration as one normalised line, wrapped at commas under the opening parenthesis."""
    flat = " ".join(strip_code(code_text).split())
    flat = re.sub(r"\s*\{.*\}\s*;?$", ";", flat)  # inline definition: prototype only
    flat = flat.replace("( ", "(").replace(" )", ")")
    if len(flat) <= width:
        return [flat]
    open_at = flat.index("(", re.search(r"\b\w+\s*\(", flat).start())
    indent = open_at + 1 if open_at + 1 <= 40 else 8
    parts = split_params(flat[open_at + 1 : flat.rindex(")")])
    tail = flat[flat.rindex(")") :]
    lines, cur = [], flat[: open_at + 1]
    for idx, p in enumerate(parts):
        piece = p + ("," if idx < len(parts) - 1 else tail)
        if len(cur) + len(piece) + (0 if cur.endswith("(") else 1) > width and cur.strip():
            lines.append(cur.rstrip())
            cur = " " * indent + piece
        else:
            cur += ("" if cur.endswith("(") else " ") + piece
    lines.append(cur)
    return lines


def synopsis_line(line, mk, fname, params):
    s = mk.code(line)
    s = re.sub(r"\b(%s)\b(?=\()" % re.escape(fname), r"\\fB\1\\fP", s, count=1)
    for p in params:
        s = re.sub(r"(?<=[\s*])(%s)(?=[,)\[])" % re.escape(p), r"\\fI\1\\fP", s)
    return s


def th(name, section, date, version, title):
    return '.TH %s %s %s "virtio-xen %s" "%s"' % (name, section, date, version, title)


def page_header(lines, name, section, date, version, title):
    lines.append('.\\" Generated by scripts/gen-manpages.py from the public headers. Do not edit.')
    lines.append(th(name, section, date, version, title))


def types_of(item, types):
    found = []
    for fitem in item.group:
        flat = strip_code(fitem.code)
        for m in re.finditer(r"\b(struct|enum|union)\s+(\w+)|\b(\w+)\b", flat):
            key = (m.group(1) + " " + m.group(2)) if m.group(1) else m.group(3)
            if key in types and key not in found:
                found.append(key)
    return found


# Word pairs naming the two halves of a lifetime; "vxen_loop_add_fd" pairs "vxen_loop_del_fd".
PAIRS = [("new", "free"), ("get", "put"), ("add", "del"), ("start", "stop"), ("open", "close"),
         ("enable", "disable")]


def function_page(item, hdr_name, ctx):
    mk = ctx["markup"]
    doc = Doc(item.comment) if item.comment else None
    names = [g.name for g in item.group]
    out = []
    page_header(out, item.name, "3", ctx["date"], ctx["version"], MANUAL)
    out.append(".SH NAME")
    summary = doc.summary if doc and doc.summary else "undocumented function of libvirtio-xen"
    summary = re.sub(r"@(\w+)", r"\1", summary)
    out.append(line_safe("%s \\- %s" % (", ".join(names), esc(summary))))
    out.append(".SH LIBRARY")
    out.append("virtio-xen library")
    out.append('.RI ( libvirtio\\-xen ", " \\-lvirtio\\-xen )')
    out.append(".SH SYNOPSIS")
    out.append(".nf")
    out.append(".B #include <virtio\\-xen/%s>" % hdr_name)
    out.append(".PP")
    for g in item.group:
        for ln in wrap_proto(g.code):
            out.append(synopsis_line(ln, mk, g.name, g.params))
    out.append(".fi")
    if ctx["pkg_synopsis"]:
        out.append(".PP")
        out.append("Compile and link with")
        out.append(".IR \"pkg\\-config \\-\\-cflags \\-\\-libs virtio\\-xen\" .")
    out.append(".SH DESCRIPTION")
    if doc is None:
        out.append("This function has no documentation comment in")
        out.append(".IR <virtio\\-xen/%s> ." % hdr_name)
    else:
        desc = [mk.text(sentence_case(doc.summary) + ".")]
        if doc.lead:
            desc.append(mk.text(doc.lead))
        if doc.params:
            for pname, ptext, _ in doc.params:
                desc.append(".TP")
                desc.append(".I %s" % esc(pname))
                desc.append(mk.text(ptext))
            desc.append(".PP")
        body, returns = split_returns(doc.body)
        render_blocks(body, mk, desc)
        while desc and desc[-1] == ".PP":
            desc.pop()
        out.extend(desc)
        if returns:
            out.append(".SH RETURN VALUE")
            rv = []
            render_blocks(returns, mk, rv)
            if rv and rv[0] == ".PP":
                rv.pop(0)
            out.extend(rv)
    tys = types_of(item, ctx["types"])
    if tys:
        out.append(".SH TYPES")
        out.append("Types in the prototype")
        out.append("as defined in the headers:")
        for t in tys:
            titem = ctx["types"][t]
            out.append(".PP")
            if titem.header != hdr_name:
                out.append(".RB \"/* from \" <virtio\\-xen/%s> \" */\"" % titem.header)
            out.append(".EX")
            src = (titem.comment_raw + "\n" if titem.comment_raw else "") + titem.code
            for ln in src.split("\n"):
                out.append(mk.code(ln))
            out.append(".EE")
    see = set()
    text = "\n".join(item.comment or [])
    for m in re.finditer(r"\b(vxen_\w+)\(\)", text):
        if m.group(1) in ctx["functions"] and m.group(1) not in names:
            see.add(m.group(1))
    for name in names:  # the other half of a pair: new/free, get/put, add/del, ...
        for a, b in PAIRS:
            for x, y in ((a, b), (b, a)):
                other = re.sub(r"_%s(?=_|$)" % x, "_" + y, name)
                if other != name and other in ctx["functions"] and other not in names:
                    see.add(other)
    out.append(".SH SEE ALSO")
    refs = ["%s (3)" % s for s in sorted(see)] + ["virtio-xen (7)"]
    for k, r in enumerate(refs):
        nm, sec = r.split(" ")
        out.append(".BR %s %s%s" % (esc(nm), sec, "," if k < len(refs) - 1 else ""))
    return "\n".join(out) + "\n"


def sentence_case(text):
    """Capitalise a summary ("create a device" -> "Create a device"), not an identifier."""
    m = re.match(r"[a-z]+\b", text)
    if m and "_" not in text[: m.end() + 1] and text[m.end() : m.end() + 1] != "(":
        return text[0].upper() + text[1:]
    return text


def split_returns(body):
    """Paragraphs that start with "Returns"/"Return:" go to RETURN VALUE."""
    paras, cur = [], []
    for line in body:
        if not line.strip():
            if cur:
                paras.append(cur)
            cur = []
        else:
            cur.append(line)
    if cur:
        paras.append(cur)
    keep, ret = [], []
    for p in paras:
        # A paragraph line that starts with "Returns" starts the return value description.
        at = next((k for k, ln in enumerate(p) if re.match(r"\s*Returns?\b", ln)), None)
        if at is None:
            head, tail = p, []
        else:
            head, tail = p[:at], p[at:]
        for part, target in ((head, keep), (tail, ret)):
            if part:
                if target:
                    target.append("")
                target.extend(part)
    return keep, ret


def overview_page(headers, order, ctx):
    mk = ctx["markup"]
    out = []
    page_header(out, "virtio-xen", "7", ctx["date"], ctx["version"], MANUAL)
    out.append(".SH NAME")
    out.append("virtio-xen \\- library for grant-aware virtio backends for Xen guests")
    out.append(".SH SYNOPSIS")
    out.append(".nf")
    out.append(".B #include <virtio\\-xen/virtio\\-xen.h>")
    out.append(".PP")
    out.append(".B cc app.c $(pkg\\-config \\-\\-cflags \\-\\-libs virtio\\-xen)")
    out.append(".PP")
    out.append(".B find_package(VirtioXen REQUIRED)")
    out.append(".B target_link_libraries(app PRIVATE VirtioXen::virtio\\-xen)")
    out.append(".fi")
    out.append(".SH DESCRIPTION")
    out.append("libvirtio-xen is a C library for writing userspace virtio backends that")
    out.append("serve Xen guests over the virtio-mmio transport, including guests that use")
    out.append("grant-DMA addresses (Linux CONFIG_XEN_VIRTIO).")
    out.append("A backend author describes the device; the library provides the ring walker,")
    out.append("grant mappings, the register file, the ioreq server and xenstore discovery.")
    out.append(".PP")
    out.append("Every public header is listed below with its own overview, followed by")
    out.append("its functions, each documented in a section 3 page.")
    umbrella = headers.get("virtio-xen.h")
    if umbrella and umbrella.top:
        body = umbrella.top[1:] if "\u2014" in umbrella.top[0] else umbrella.top
        render_blocks([""] + body, mk, out)
    out.append(".SS Conventions")
    out.append("Fallible functions return 0 or a negative errno value, unless their page")
    out.append("says otherwise.")
    out.append("Constructors have the form")
    out.append(".I int vxen_x_new(vxen_x **out, ...)")
    out.append("and leave")
    out.append(".I *out")
    out.append("untouched on failure; the matching")
    out.append(".I _free()")
    out.append("accepts NULL.")
    out.append("Objects returned through")
    out.append(".I **out")
    out.append("belong to the caller; getters lend.")
    out.append("Option and callback structures carry a")
    out.append(".I version")
    out.append("field and have an")
    out.append(".I _INIT")
    out.append("macro or a")
    out.append(".I _VERSION")
    out.append("constant.")
    out.append("Callbacks take their")
    out.append(".I payload")
    out.append("pointer last.")
    out.append("The library never writes to stderr or syslog by itself: see")
    out.append(".BR vxen_log_set_handler (3).")
    out.append("Symbols are versioned (node VXEN_0.1 and later, added only).")
    for name in order:
        hdr = headers[name]
        if name == "virtio-xen.h":
            continue
        top = list(hdr.top)
        title = "<virtio-xen/%s>" % name
        if top and "\u2014" in top[0]:
            # "virtio-xen/vq.h — L1: ..., may continue on the next lines" up to a blank line
            head = []
            while top and top[0].strip():
                head.append(top.pop(0).strip())
            title_text = " ".join(head).split("\u2014", 1)[1].strip()
            out.append(".SS \"%s\"" % esc(title).replace("-", "\\-"))
            out.append(mk.text(sentence_case(title_text)))
            if top:
                render_blocks(top, mk, out)
        else:
            out.append(".SS \"%s\"" % esc(title).replace("-", "\\-"))
            render_blocks(top, mk, out)
        funcs = [it.name for it in hdr.items if it.kind in ("func", "static")]
        if funcs:
            out.append(".PP")
            out.append(".ad l")
            out.append("Functions:")
            for k, f in enumerate(funcs):
                out.append(".BR %s (3)%s" % (f, "," if k < len(funcs) - 1 else "."))
            out.append(".ad")
    if ctx["xensim"]:
        out.append(".SH TESTING WITHOUT XEN")
        out.append("xensim, installed with the library, is a simulated Xen machine:")
        out.append("drop-in replacements for the Xen libraries a backend links")
        out.append("(libxengnttab, libxenevtchn, libxendevicemodel, libxenforeignmemory,")
        out.append("libxenstore), a daemon")
        out.append(".BR xensimd ,")
        out.append("and")
        out.append(".IR libxensim ,")
        out.append("whose API")
        out.append(".RI ( <xensim/xensim.h> ,")
        out.append(".IR \"pkg\\-config xensim\" )")
        out.append("creates guests, grants their memory and drives virtio frontends.")
        out.append("An unmodified backend binary runs on it with")
        out.append(".PP")
        out.append(".EX")
        out.append("LD_LIBRARY_PATH=$(pkg\\-config \\-\\-variable=dropin_libdir xensim)")
        out.append(".EE")
    out.append(".SH SEE ALSO")
    out.append(".BR pkg-config (1),")
    out.append(".BR xl.cfg (5)")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------


def umbrella_order(include_dir, names):
    order = []
    path = os.path.join(include_dir, "virtio-xen", "virtio-xen.h")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for m in re.finditer(r"#\s*include\s*<virtio-xen/([\w-]+\.h)>", f.read()):
                if m.group(1) in names and m.group(1) not in order:
                    order.append(m.group(1))
    return order + sorted(n for n in names if n not in order)


def check_item(item, strict_errors):
    if item.kind not in ("func", "static"):
        return
    where = "%s:%d" % (item.header, item.line)
    if not item.comment:
        strict_errors.append("%s: %s() has no doc comment" % (where, item.name))
        return
    if item is not item.group[0]:
        return
    doc = Doc(item.comment)
    group_names = [g.name for g in item.group]
    if doc.names and sorted(doc.names) != sorted(group_names):
        strict_errors.append(
            "%s: comment names %s but declares %s"
            % (where, ", ".join(doc.names), ", ".join(group_names))
        )
    params = set(p for g in item.group for p in g.params)
    for _, _, pnames in doc.params:
        for p in pnames:
            if p not in params:
                strict_errors.append("%s: @%s is not a parameter of %s()" % (where, p, item.name))


def doc_date(paths):
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    ts = int(sde) if sde else max(int(os.path.getmtime(p)) for p in paths)
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--include-dir", required=True, help="directory holding virtio-xen/*.h")
    ap.add_argument("--out", required=True, help="output directory (gets man3/, man7/, ...)")
    ap.add_argument("--version", required=True, help="library version for the page footers")
    ap.add_argument("--extra-dir", action="append", default=[],
                    help="directory with hand-written man<N>/*.<N> pages to copy (repeatable)")
    ap.add_argument("--xensim", action="store_true", help="mention xensim in virtio-xen(7)")
    ap.add_argument("--strict", action="store_true", help="missing/mismatched docs are errors")
    ap.add_argument("--stamp", help="file to touch when done")
    args = ap.parse_args()

    hdir = os.path.join(args.include_dir, "virtio-xen")
    paths = sorted(
        os.path.join(hdir, f) for f in os.listdir(hdir) if f.endswith(".h")
    )
    if not paths:
        sys.exit("gen-manpages: no headers in " + hdir)
    headers = {os.path.basename(p): parse_header(p) for p in paths}
    functions, types = {}, {}
    for hdr in headers.values():
        for it in hdr.items:
            if it.kind in ("func", "static"):
                functions[it.name] = it
            elif it.kind == "type" and it.name and (it.comment or "{" in it.code):
                types[it.name] = it

    errors = []
    for hdr in headers.values():
        for it in hdr.items:
            check_item(it, errors)
    for e in errors:
        warn(e)
    if errors and args.strict:
        print("gen-manpages: %d documentation error(s)" % len(errors), file=sys.stderr)
        return 1

    ctx = {
        "markup": Markup(functions),
        "functions": functions,
        "types": types,
        "version": args.version,
        "date": doc_date(paths),
        "xensim": args.xensim,
        "pkg_synopsis": True,
    }

    written = {}
    for hdr in headers.values():
        for it in hdr.items:
            if it.kind in ("func", "static"):
                written[("3", it.name)] = function_page(it, hdr.name, ctx)
    order = umbrella_order(args.include_dir, list(headers))
    written[("7", "virtio-xen")] = overview_page(headers, order, ctx)
    extra = []
    for d in args.extra_dir:
        if not os.path.isdir(d):
            continue
        for sub in sorted(os.listdir(d)):
            m = re.fullmatch(r"man(\d)", sub)
            if not m or not os.path.isdir(os.path.join(d, sub)):
                continue
            for f in sorted(os.listdir(os.path.join(d, sub))):
                if f.endswith("." + m.group(1)):
                    extra.append((m.group(1), os.path.join(d, sub, f)))

    sections = {s for s, _ in written} | {s for s, _ in extra}
    for s in sections:
        sd = os.path.join(args.out, "man" + s)
        if os.path.isdir(sd):
            shutil.rmtree(sd)
        os.makedirs(sd)
    for (s, name), text in written.items():
        with open(os.path.join(args.out, "man" + s, name + "." + s), "w", encoding="ascii") as f:
            f.write(text)
    for s, src in extra:
        shutil.copyfile(src, os.path.join(args.out, "man" + s, os.path.basename(src)))
    if args.stamp:
        with open(args.stamp, "w") as f:
            f.write("%d pages\n" % (len(written) + len(extra)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
