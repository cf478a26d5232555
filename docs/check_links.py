"""Check the built HTML for broken internal links and missing images.

Usage: ``python docs/check_links.py BUILD_DIR``

Every ``href`` and ``src`` of every ``.html`` file under BUILD_DIR that points
to a local file (no scheme, not ``mailto:``, ``javascript:`` or ``data:``) must
name an existing file, and a ``#fragment`` must be an ``id`` (or an ``<a
name>``) of the target page. External links are not checked (no network).
Exit status 1 and one line per problem if anything is broken.
"""

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Attributes that hold a URL to something the page needs or links to.
_URL_ATTRS = {"href", "src"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.urls = []  # (tag, attribute, value, line)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            elif name in _URL_ATTRS:
                self.urls.append((tag, name, value, self.getpos()[0]))
            elif name == "srcset":
                for part in value.split(","):
                    if part.strip():
                        url = part.split()[0]
                        self.urls.append((tag, name, url, self.getpos()[0]))


def _parse(path, cache):
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = page
    return cache[path]


def check(build_dir):
    """Return a list of problems, one string each."""
    root = Path(build_dir).resolve()
    cache = {}
    problems = []
    # Theme templates copied into _static (e.g. webpack-macros.html) are not
    # pages; what pages load from _static is still checked.
    pages = sorted(
        p for p in root.rglob("*.html") if p.relative_to(root).parts[0] != "_static"
    )
    if not pages:
        return [f"no HTML files under {root}"]
    for page_path in pages:
        page = _parse(page_path, cache)
        rel_page = page_path.relative_to(root)
        for tag, attr, url, line in page.urls:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith("//"):
                continue  # external (http, https, mailto, data, javascript, ...)
            target = page_path
            if parts.path:
                target = (page_path.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if root not in target.parents and target != root:
                    problems.append(
                        f"{rel_page}:{line}: <{tag} {attr}={url!r}> leaves the build"
                    )
                    continue
                if not target.is_file():
                    kind = "image" if tag == "img" else "file"
                    problems.append(
                        f"{rel_page}:{line}: <{tag} {attr}={url!r}>: missing {kind}"
                    )
                    continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                if fragment not in _parse(target, cache).ids:
                    problems.append(
                        f"{rel_page}:{line}: <{tag} {attr}={url!r}>: no anchor "
                        f"#{fragment} in {target.relative_to(root)}"
                    )
    return problems


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    problems = check(argv[0])
    for p in problems:
        print(p)
    n_pages = sum(1 for p in Path(argv[0]).rglob("*.html") if "_static" not in p.parts)
    if problems:
        print(f"{len(problems)} broken internal links or images in {n_pages} pages")
        return 1
    print(f"internal links and images OK in {n_pages} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
