"""Safe parsing of untrusted XML from the network, and text extraction that stays safe.

The arXiv sources (the Atom export API, the OAI-PMH endpoint) read XML that comes from the
internet, so an entity bomb or an external entity must stay inert: :func:`parse_untrusted` never
resolves entities, loads a DTD nor touches the network, and :func:`all_text` reads an element's
text while skipping the entity references the parser left unexpanded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from lxml import etree


def parse_untrusted(
    content: bytes | str, error: Callable[[str], Exception], *, what: str, expected: str
) -> etree._Element:
    """Parse untrusted XML without entity expansion, DTD loading or network access.

    Failures raise ``error(message)``, the message naming the source's format: a syntax error
    gives ``malformed {what}: <lxml's message>`` (chained to lxml's error), a document without
    a root element ``empty response, expected {expected}``.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    # A parser per call: lxml parsers are not safe to share between threads.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise error(f"malformed {what}: {exc}") from exc
    if root is None:
        raise error(f"empty response, expected {expected}")
    return root


def all_text(element: etree._Element) -> str:
    """All text under ``element``, skipping entity references (left unexpanded by the parser)."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):
            parts.append(all_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def child_text(
    parent: etree._Element, path: str, namespaces: Mapping[str, str] | None = None
) -> str | None:
    """Stripped text of the first ``path`` match, None when absent or blank."""
    element = parent.find(path, namespaces)
    if element is None:
        return None
    return all_text(element).strip() or None


def stripped_texts(elements: Iterable[etree._Element]) -> list[str]:
    """The stripped text of each element, in order, leaving out blank ones."""
    return [t for element in elements if (t := all_text(element).strip())]
