"""Word documents in the layout of Chinese official documents (GB/T 9704-2012 《党政机关公文格式》):
A4, margins top 37 mm / bottom 35 mm / left 28 mm / right 26 mm, title in 方正小标宋简体 二号 (22 pt),
body in 仿宋_GB2312 三号 (16 pt), first-level headings in 黑体, second-level in 楷体_GB2312, page
numbers "— N —" (a PAGE field) in the footer. Font names are set for East Asian text in every run;
Word and LibreOffice substitute an installed CJK font when a named one is absent."""

from __future__ import annotations

import copy
import io
from collections.abc import Sequence

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
H1_FONT = "黑体"
H2_FONT = "楷体_GB2312"
LATIN_FONT = "Times New Roman"
TITLE_PT, BODY_PT, TABLE_PT = 22, 16, 12
LINE_PT = 28  # fixed line spacing: 22 lines per page on the GB/T 9704 type area
TEXT_WIDTH_MM = 210 - 28 - 26


def set_font(run, east_asia: str, size_pt: float | None = None, bold: bool | None = None) -> None:
    run.font.name = LATIN_FONT
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)
    if size_pt is not None:
        run.font.size = Pt(size_pt)
    if bold is not None:
        run.font.bold = bold


def new_document() -> Document:
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = Mm(37), Mm(35)
    sec.left_margin, sec.right_margin = Mm(28), Mm(26)
    sec.footer_distance = Mm(20)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), BODY_FONT)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(LINE_PT)
    pf.space_before = pf.space_after = Pt(0)
    _page_number_footer(sec)
    return doc


def _field(run, instr: str) -> None:
    for kind, text in (("begin", None), (None, instr), ("separate", None), (None, "1"), ("end", None)):
        if kind is not None:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._element.append(el)
        elif text == instr:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instr} "
            run._element.append(el)
        else:
            el = OxmlElement("w:t")
            el.text = text
            run._element.append(el)


def _page_number_footer(sec) -> None:
    p = sec.footer.paragraphs[0] if sec.footer.paragraphs else sec.footer.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for part in ("— ", None, " —"):
        r = p.add_run(part or "")
        set_font(r, "宋体", 14)
        if part is None:
            _field(r, "PAGE")


def letterhead(doc, org: str, doc_number: str) -> None:
    """版头: the issuing organ in red, the 文号, and the red separator line below them."""
    from docx.shared import RGBColor

    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.line_spacing = Pt(40)
    r = p.add_run(org)
    set_font(r, TITLE_FONT, max(12, min(26, int(TEXT_WIDTH_MM * 2.83 // max(len(org), 1)))))  # one line
    r.font.color.rgb = RGBColor(0xE6, 0x00, 0x12)
    doc.add_paragraph()
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(p.add_run(doc_number), BODY_FONT, BODY_PT)
    ppr = p._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "12"), ("w:space", "6"), ("w:color", "E60012")):
        bottom.set(qn(k), v)
    borders.append(bottom)
    ppr.append(borders)
    doc.add_paragraph()


def title(doc, text: str) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.line_spacing = Pt(36)
    p.paragraph_format.space_after = Pt(LINE_PT / 2)
    set_font(p.add_run(text), TITLE_FONT, TITLE_PT)


def centered(doc, text: str, font: str = BODY_FONT, size: float = BODY_PT) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(p.add_run(text), font, size)


def right(doc, text: str) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.paragraph_format.right_indent = Pt(BODY_PT * 4)
    set_font(p.add_run(text), BODY_FONT, BODY_PT)


def plain(doc, text: str) -> None:
    """A paragraph without indent (主送机关)."""
    set_font(doc.add_paragraph().add_run(text), BODY_FONT, BODY_PT)


def heading1(doc, text: str) -> None:
    p = doc.add_paragraph()
    p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    p.paragraph_format.keep_with_next = True
    set_font(p.add_run(text), H1_FONT, BODY_PT)


def heading2(doc, text: str) -> None:
    p = doc.add_paragraph()
    p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    p.paragraph_format.keep_with_next = True
    set_font(p.add_run(text), H2_FONT, BODY_PT)


def para(doc, text: str, lead: str | None = None) -> None:
    """A body paragraph indented by two characters; ``lead`` is a bold run-in phrase."""
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    if lead:
        set_font(p.add_run(lead), BODY_FONT, BODY_PT, bold=True)
    set_font(p.add_run(text), BODY_FONT, BODY_PT)


def caption(doc, text: str) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.keep_with_next = True
    set_font(p.add_run(text), H1_FONT, 14)


def table(
    doc,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths_mm: Sequence[float] | None = None,
    size: float = TABLE_PT,
):
    t = doc.add_table(rows=1, cols=len(headers))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    for i, h in enumerate(headers):
        _cell(t.rows[0].cells[i], str(h), H1_FONT, size, center=True)
    # repeat the header row on every page
    trpr = t.rows[0]._tr.get_or_add_trPr()
    hdr = OxmlElement("w:tblHeader")
    hdr.set(qn("w:val"), "true")
    trpr.append(hdr)
    if widths_mm:
        for i, w in enumerate(widths_mm):
            t.columns[i].width = Mm(w)
            t.rows[0].cells[i].width = Mm(w)
    _body_rows(t, rows, widths_mm, size)
    doc.add_paragraph()
    return t


def _body_rows(t, rows: Sequence[Sequence[object]], widths_mm: Sequence[float] | None, size: float) -> None:
    """Append the body rows. Building every cell through python-docx costs ≈1 ms a cell (a 通报 attachment
    listing 4,000 findings has 28,000 cells), so one formatted row is built per alignment and each body row
    is a copy of its cells' XML with the text put in. A value with a line break or tab (python-docx turns
    those into w:br / w:tab) takes the slow path for its row."""
    if not rows:
        return
    protos = []
    for center in (False, True):
        r = t.add_row()
        for i, c in enumerate(r.cells):
            if widths_mm:
                c.width = Mm(widths_mm[i])
            _cell(c, "x", BODY_FONT, size, center=center)
        t._tbl.remove(r._tr)
        protos.append(r._tr)
    left, centred = ([tc for tc in tr.iterchildren(qn("w:tc"))] for tr in protos)
    empty_tr = copy.deepcopy(protos[0])
    for tc in list(empty_tr.iterchildren(qn("w:tc"))):
        empty_tr.remove(tc)
    for row in rows:
        texts = ["" if v is None else str(v) for v in row]
        if any("\n" in x or "\t" in x or "\r" in x for x in texts):
            cells = t.add_row().cells
            for i, (v, x) in enumerate(zip(row, texts, strict=True)):
                if widths_mm:
                    cells[i].width = Mm(widths_mm[i])
                _cell(cells[i], x, BODY_FONT, size, center=isinstance(v, int | float))
            continue
        tr = copy.deepcopy(empty_tr)
        for i, (v, x) in enumerate(zip(row, texts, strict=True)):
            tc = copy.deepcopy((centred if isinstance(v, int | float) else left)[i])
            tnode = next(tc.iter(qn("w:t")))
            tnode.text = x
            if not x:
                tnode.getparent().remove(tnode)  # as python-docx writes an empty run
            elif x != x.strip():
                tnode.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            tr.append(tc)
        t._tbl.append(tr)


def _cell(cell, text: str, font: str, size: float, center: bool = False) -> None:
    p = cell.paragraphs[0]
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    p.paragraph_format.first_line_indent = Pt(0)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(p.add_run(text), font, size)


def picture(doc, png: bytes, width_mm: float = TEXT_WIDTH_MM - 6) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    p.paragraph_format.keep_with_next = True
    p.add_run().add_picture(io.BytesIO(png), width=Mm(width_mm))


def page_break(doc) -> None:
    from docx.enum.text import WD_BREAK

    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def to_bytes(doc) -> bytes:
    buf = io.BytesIO()
    doc.core_properties.author = "zhijian"
    doc.save(buf)
    return buf.getvalue()


def document_text(doc) -> list[str]:
    """Every paragraph and table cell text of the body, in order (tests compare it with the PDF)."""
    out: list[str] = []
    body = doc.element.body
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            out.append("".join(t.text or "" for t in child.iter(qn("w:t"))))
        elif child.tag == qn("w:tbl"):
            for tc in child.iter(qn("w:tc")):
                out.append("".join(t.text or "" for t in tc.iter(qn("w:t"))))
    return [x for x in out if x.strip()]
