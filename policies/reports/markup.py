"""HTML/SVG built from elements, never from string concatenation of values.

Every value passed as a child or attribute is escaped unless it is already ``Markup`` (the output of
``el``), so a resource name such as ``<script>`` can only ever be text. Characters that XML 1.0 forbids
are dropped, so the same markup is valid inside inline SVG.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_VOID = frozenset({"meta", "br", "col", "hr", "wbr"})


class Markup(str):
    """Text that is already safe markup."""


def clean(text: str) -> str:
    return _FORBIDDEN.sub("", text)


def escape(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(clean(str(value)), quote=True))


def _children(children: Iterable[object]) -> Iterable[Markup]:
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, (list, tuple)):
            yield from _children(child)
        else:
            yield escape(child)


def _attribute_name(name: str) -> str:
    # class_ -> class, aria_label -> aria-label; SVG's camelCase names (viewBox) pass unchanged.
    return name.rstrip("_").replace("_", "-")


def el(tag: str, *children: object, **attributes: object) -> Markup:
    rendered = "".join(
        f' {_attribute_name(name)}' if value is True else f' {_attribute_name(name)}="{escape(value)}"'
        for name, value in attributes.items() if value is not None and value is not False)
    if tag in _VOID:
        return Markup(f"<{tag}{rendered}>")
    return Markup(f"<{tag}{rendered}>{''.join(_children(children))}</{tag}>")


def join(parts: Iterable[object], separator: object = "") -> Markup:
    return Markup(escape(separator).join(_children(parts)))
