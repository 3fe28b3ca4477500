"""The PDF's fonts are registered once per process, whole: under threaded web workers, a
second request starting a PDF while the first registers them must wait for the bold face and
the family, not start with the regular face alone (its bold paragraphs would fail)."""

from __future__ import annotations

import threading

from reportlab.pdfbase import pdfmetrics

from flux.reporting import pdf


def test_a_second_thread_waits_until_every_face_is_registered(monkeypatch):
    for name in (pdf._FONT, pdf._BOLD, pdf._ITALIC, pdf._BOLD_ITALIC):
        monkeypatch.delitem(pdfmetrics._fonts, name, raising=False)
    regular_in, finish = threading.Event(), threading.Event()
    register = pdfmetrics.registerFont

    def slow_register(font):
        register(font)
        if font.fontName == pdf._FONT:  # the regular face is in; the bold one is not yet
            regular_in.set()
            finish.wait(5)

    monkeypatch.setattr(pdfmetrics, "registerFont", slow_register)
    first = threading.Thread(target=pdf._register_fonts)
    first.start()
    assert regular_in.wait(5)
    seen: list[bool] = []
    second = threading.Thread(
        target=lambda: (pdf._register_fonts(), seen.append(pdf._BOLD in pdfmetrics._fonts))
    )
    second.start()
    second.join(0.3)
    assert second.is_alive() and seen == []  # still waiting for the first registration
    finish.set()
    first.join(5)
    second.join(5)
    assert seen == [True]
