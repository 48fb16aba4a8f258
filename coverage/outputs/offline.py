"""Self-contained Leaflet maps that work on an intranet with no internet.

A default :class:`folium.Map` pulls Leaflet, jQuery, Bootstrap,
Leaflet.awesome-markers, Font Awesome and glyphicons from five CDNs. On a
government intranet none of them loads and the planner sees a blank page. This
module builds maps that need nothing from the network:

* Leaflet 1.9.4 (JS and CSS) is read at run time from the installed
  ``django-js-lib-leaflet`` package with :mod:`importlib.resources` and inlined;
  the marker and layer-switcher images the CSS refers to become ``data:`` URIs.
* folium's class-level ``default_js`` / ``default_css`` are replaced by empty
  lists on the map instance, so no ``<script src>`` / ``<link href>`` is written.
* No tiles by default: the street layer the caller draws gives the context. A
  basemap is only added on request (``"osm"``, ``"tianditu"``, ``"amap"``); its
  tile URL template is then the one external address in the page.

What works without jQuery/Bootstrap (checked against folium 0.20's templates)
------------------------------------------------------------------------------
Plain Leaflet, usable as is: ``folium.GeoJson`` (embedded data, with
``style_function``/``highlight_function``), ``folium.GeoJsonTooltip``,
``folium.GeoJsonPopup``, ``folium.Tooltip``, ``folium.CircleMarker``,
``folium.Circle``, ``folium.PolyLine``/``Polygon``/``Rectangle``,
``folium.FeatureGroup``, ``folium.LayerControl``, ``folium.DivIcon``,
``folium.Marker`` *without* an icon (Leaflet's blue pin, inlined here).

Needs help or must be avoided:

* ``folium.Popup`` (also what a plain string ``popup=`` becomes) calls jQuery's
  ``$(html)[0]``, and ``Map.keep_in_front`` calls ``$(document).ready``. A
  stand-in ``$`` of a dozen lines covering exactly those two uses is inlined,
  so both work; it is *not* jQuery.
* ``folium.Icon`` renders with ``L.AwesomeMarkers`` (CDN) and throws, stopping
  every layer after it: refused by :func:`to_standalone_html`. Use
  ``CircleMarker`` or ``DivIcon``.
* ``folium.GeoJson(embed=False)`` fetches its data with ``$.ajax``: refused.
* ``branca`` colormaps draw with d3 from a CDN: refused; use :func:`add_legend`.
* Every ``folium.plugins`` class with CDN assets: refused (listed in the error).
* ``GeoJsonTooltip``/``GeoJsonPopup`` put property values into ``innerHTML``
  unescaped, so a facility named ``<img src=x onerror=…>`` in an uploaded file
  would run script in the report. Pass the layer through
  :func:`escape_properties` before ``folium.GeoJson``.

Amap (高德) tiles are GCJ-02
---------------------------
Amap tiles are drawn in the GCJ-02 "Mars" datum. WGS84/CGCS2000 overlays drawn
on them appear shifted by a few hundred metres in Wuhai, which is the size of
the 500 m rule being checked. When :func:`basemap_is_gcj02` is true (the map
made by :func:`new_map` also carries ``m.overlays_need_gcj02 = True``), convert
every overlay to GCJ-02 first (``coverage.geo.chinese_crs``). OSM tiles are WGS84
and Tianditu (天地图) tiles are CGCS2000; neither needs a shift.

How streamlit-folium 0.27 renders a map (read from its installed source)
------------------------------------------------------------------------
``st_folium(m)`` renders the figure in Python and sends the frontend component
(a React bundle in ``streamlit_folium/frontend/build``) five things:

* ``js_links`` / ``css_links``: the ``default_js`` / ``default_css`` URLs of
  *every* ``JSCSSMixin`` element in the tree, the map included (branca
  colormaps also add two d3 CDN URLs). The frontend loads them one after
  another with ``script.src = link`` and ``<link rel=stylesheet>``.
* ``header``: the figure's rendered ``<head>`` with every ``<script src>`` and
  ``<link rel="stylesheet">`` removed, appended with
  ``document.head.innerHTML += header``. Scripts inserted via ``innerHTML`` are
  never executed, so an inline ``<script>`` in the header is dead there;
  ``<style>`` blocks do apply.
* ``html`` and ``script``: the figure's body elements and the concatenated
  ``script`` macros of the map and its children, run after the links loaded.

The bundle does **not** contain Leaflet (its ``package.json`` only has
``@types/leaflet``): ``L`` exists only if a js_link provides it. So inline
Leaflet (right for a standalone page) would leave ``L`` undefined in Streamlit.
:func:`prepare_for_streamlit` therefore keeps the CSS as an inline ``<style>``
in the header and gives the map ``default_js`` = two ``data:`` URIs (Leaflet and
the small helper script), which the frontend loads like any URL without
touching the network (~210 kB re-sent on each rerun). Legends and titles made
here are Leaflet controls created in ``script`` macros, so they travel too.
Streamlit's own telemetry is separate: set ``browser.gatherUsageStats = false``
in ``.streamlit/config.toml`` on an intranet.
"""

from __future__ import annotations

import base64
import functools
import html as html_lib
import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import folium
from branca.colormap import ColorMap
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from bs4 import BeautifulSoup
from folium.elements import JSCSSMixin
from folium.features import CustomIcon, GeoJson
from folium.template import Template

from coverage.errors import ValueInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BASEMAPS",
    "LEAFLET_VERSION",
    "LeafletAssets",
    "OfflineAssetError",
    "add_legend",
    "add_title",
    "assert_offline",
    "basemap_is_gcj02",
    "basemap_label",
    "escape_properties",
    "find_tile_urls",
    "leaflet_assets",
    "make_offline",
    "new_map",
    "prepare_for_streamlit",
    "to_standalone_html",
]

#: The Leaflet release the inlined assets must be (django-js-lib-leaflet 1.9.4.x).
LEAFLET_VERSION = "1.9.4"

_LEAFLET_PACKAGE = "js_lib_leaflet"
_LEAFLET_REQUIREMENT = "django-js-lib-leaflet==1.9.4.1"


class OfflineAssetError(RuntimeError):
    """A map would fetch something from the network, or uses a CDN-only feature.

    Raised by :func:`to_standalone_html`; the message lists every offending
    element or URL and what to use instead. This is a programming problem in
    how the map was built, not bad user data, hence not a ``CoverageInputError``.
    """


# --------------------------------------------------------------------------
# Leaflet assets
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LeafletAssets:
    """Leaflet as read from the installed package, ready to inline.

    Attributes
    ----------
    version : str
        Version found in the banner of ``leaflet.js``.
    js : str
        ``leaflet.js`` without its source-map comment, safe inside ``<script>``.
    css : str
        ``leaflet.css`` with every ``url(images/…)`` replaced by a ``data:`` URI.
    helpers_js : str
        Our own small script run after Leaflet: default marker icons as
        ``data:`` URIs and the minimal ``$`` stand-in for folium's templates.
    icons : dict of str to str
        ``data:`` URI of each image in Leaflet's ``images/`` folder, by file name.
    """

    version: str
    js: str
    css: str
    helpers_js: str
    icons: dict[str, str] = field(default_factory=dict)


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def _script_safe(text: str) -> str:
    # A literal "</script" inside an inline script ends it early.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


_HELPERS_TEMPLATE = """(function () {
  "use strict";
  // Leaflet guesses its image folder from the CSS background URL; with the
  // images inlined that guess fails, so hand the data: URIs over directly.
  L.Icon.Default.imagePath = "";
  L.Icon.Default.mergeOptions(%(icons)s);
  // folium.Popup emits $(`<div>...</div>`)[0] and Map.keep_in_front emits
  // $(document).ready(fn). This covers those two calls only; it is not jQuery.
  if (typeof window.$ === "undefined") {
    var ready = function (fn) {
      if (document.readyState !== "loading") { fn(); }
      else { document.addEventListener("DOMContentLoaded", fn); }
    };
    window.$ = function (arg) {
      if (typeof arg === "function") { ready(arg); return undefined; }
      if (arg === document || arg === window) { return {ready: ready}; }
      if (typeof arg === "string" && /^\\s*</.test(arg)) {
        var holder = document.createElement("div");
        holder.innerHTML = arg.trim();
        return Array.prototype.slice.call(holder.childNodes);
      }
      return Array.prototype.slice.call(document.querySelectorAll(arg));
    };
  }
})();
"""


@functools.lru_cache(maxsize=1)
def leaflet_assets() -> LeafletAssets:
    """Read Leaflet's JS, CSS and images from the installed package.

    Returns
    -------
    LeafletAssets
        Cached after the first call.

    Raises
    ------
    ImportError
        If ``django-js-lib-leaflet`` is not installed.
    """
    try:
        root = resources.files(_LEAFLET_PACKAGE) / "static" / _LEAFLET_PACKAGE
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the env
        raise ImportError(
            f"offline maps need Leaflet from PyPI: pip install '{_LEAFLET_REQUIREMENT}'"
        ) from exc
    js = (root / "leaflet.js").read_text(encoding="utf-8")
    css = (root / "leaflet.css").read_text(encoding="utf-8")

    banner = re.search(r"Leaflet (\d+\.\d+\.\d+)", js[:500])
    version = banner.group(1) if banner else "unknown"

    icons = {
        item.name: _data_uri("image/png", item.read_bytes())
        for item in (root / "images").iterdir()
        if item.name.endswith(".png")
    }

    def inline_image(match: re.Match[str]) -> str:
        name = match.group(2).rsplit("/", 1)[-1]
        return f"url({icons[name]})" if name in icons else match.group(0)

    css = re.sub(r"url\((['\"]?)(images/[^'\")]+)\1\)", inline_image, css)
    # The .map file is not shipped in the page; drop the dangling reference.
    js = re.sub(r"^//# sourceMappingURL=.*$", "", js, flags=re.MULTILINE)

    icon_options = {
        "iconUrl": icons["marker-icon.png"],
        "iconRetinaUrl": icons["marker-icon-2x.png"],
        "shadowUrl": icons["marker-shadow.png"],
    }
    helpers = _HELPERS_TEMPLATE % {"icons": json.dumps(icon_options)}
    return LeafletAssets(
        version=version, js=_script_safe(js), css=css, helpers_js=helpers, icons=icons
    )


_STREAMLIT_JS_NAMES = ("offline_leaflet", "offline_leaflet_helpers")
_MAP_LINK_NAMES = frozenset(
    [name for name, _ in folium.Map.default_js]
    + [name for name, _ in folium.Map.default_css]
    + list(_STREAMLIT_JS_NAMES)
)


class _RawHTML(Element):
    """An element rendered verbatim: 150 kB of Leaflet must not go through Jinja."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _OfflineLeaflet(MacroElement):
    """Map child that writes Leaflet's CSS (and, for a page, JS) into the header.

    Being a child of the map rather than of one Figure, it follows the map into
    whatever figure finally renders it (report page, notebook, st_folium).
    """

    def __init__(self) -> None:
        super().__init__()
        self._name = "OfflineLeaflet"
        self.inline_js = True

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        if not isinstance(figure, Figure):
            return
        # Links written by an earlier render of this figure (folium's CDN
        # defaults, or our data: links in Streamlit mode) would stay in the
        # header otherwise: header children are kept between renders.
        for name in _MAP_LINK_NAMES:
            child = figure.header._children.get(name)
            if isinstance(child, (JavascriptLink, CssLink)):
                del figure.header._children[name]
        assets = leaflet_assets()
        figure.header.add_child(
            _RawHTML(f"<style>{assets.css}</style>"), name="offline_leaflet_css"
        )
        if self.inline_js:
            figure.header.add_child(
                _RawHTML(f"<script>{assets.js}</script>"), name="offline_leaflet_js"
            )
            figure.header.add_child(
                _RawHTML(f"<script>{assets.helpers_js}</script>"),
                name="offline_leaflet_helpers",
            )
        else:
            # Streamlit mode: the JS comes in as data: js_links instead.
            for name in ("offline_leaflet_js", "offline_leaflet_helpers"):
                figure.header._children.pop(name, None)
            for name, url in self._parent.default_js:
                figure.header.add_child(JavascriptLink(url), name=name)


# --------------------------------------------------------------------------
# Basemaps
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Basemap:
    label: str
    url: str
    attribution: str
    subdomains: str
    max_zoom: int
    gcj02: bool
    labels_url: str | None = None


_TIANDITU_WMTS = (
    "https://t{s}.tianditu.gov.cn/%(layer)s_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
    "&VERSION=1.0.0&LAYER=%(layer)s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%(key)s"
)

#: Basemaps :func:`new_map` can add, by canonical name.
BASEMAPS: dict[str, _Basemap] = {
    "osm": _Basemap(
        label="OpenStreetMap",
        url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        attribution='&copy; <a href="https://www.openstreetmap.org/copyright">'
        "OpenStreetMap</a> contributors",
        subdomains="abc",
        max_zoom=19,
        gcj02=False,
    ),
    "tianditu": _Basemap(
        label="天地图 (Tianditu)",
        url=_TIANDITU_WMTS.replace("%(layer)s", "vec"),
        labels_url=_TIANDITU_WMTS.replace("%(layer)s", "cva"),
        attribution='&copy; <a href="https://www.tianditu.gov.cn/">天地图</a>',
        subdomains="01234567",
        max_zoom=18,
        gcj02=False,
    ),
    "amap": _Basemap(
        label="高德地图 (Amap, GCJ-02)",
        url="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1"
        "&scale=1&style=8&x={x}&y={y}&z={z}",
        attribution="&copy; 高德地图 AutoNavi",
        subdomains="1234",
        max_zoom=18,
        gcj02=True,
    ),
}

_BASEMAP_ALIASES = {
    "osm": "osm",
    "openstreetmap": "osm",
    "tianditu": "tianditu",
    "天地图": "tianditu",
    "amap": "amap",
    "gaode": "amap",
    "autonavi": "amap",
    "高德": "amap",
}


def _basemap_name(name: str) -> str:
    key = _BASEMAP_ALIASES.get(str(name).strip().lower())
    if key is None:
        raise ValueInputError(
            f"unknown basemap {name!r}; use one of {sorted(BASEMAPS)} "
            "or None for no tiles (works offline)"
        )
    return key


def basemap_is_gcj02(name: str | None) -> bool:
    """Whether a basemap's tiles are in GCJ-02, so overlays must be shifted.

    Parameters
    ----------
    name : str or None
        A basemap name accepted by :func:`new_map` (``"osm"``, ``"tianditu"``,
        ``"amap"`` or an alias such as ``"高德"``); None means no basemap.

    Returns
    -------
    bool
        True for Amap (高德): convert WGS84/CGCS2000 overlays to GCJ-02 before
        drawing them on it.

    Raises
    ------
    ValueInputError
        For an unknown name.
    """
    if name is None:
        return False
    return BASEMAPS[_basemap_name(name)].gcj02


def basemap_label(name: str) -> str:
    """The display name of a basemap (``"天地图 (Tianditu)"``, ``"OpenStreetMap"``), no URL, no key.

    Raises
    ------
    ValueInputError
        For an unknown name.
    """
    return BASEMAPS[_basemap_name(name)].label


def _tile_layers(name: str, tianditu_key: str | None) -> list[folium.TileLayer]:
    spec = BASEMAPS[name]
    url, labels_url = spec.url, spec.labels_url
    if name == "tianditu":
        key = (tianditu_key or "").strip()
        if not re.fullmatch(r"[0-9A-Za-z]{16,64}", key):
            raise ValueInputError(
                "the Tianditu (天地图) basemap needs a browser key: pass "
                "tianditu_key=<the 32-character key from console.tianditu.gov.cn>, "
                "or use basemap=None for a map that works offline"
            )
        url = url.replace("%(key)s", key)
        labels_url = labels_url.replace("%(key)s", key) if labels_url else None
    layers = [
        folium.TileLayer(
            tiles=url,
            attr=spec.attribution,
            name=spec.label,
            subdomains=spec.subdomains,
            max_zoom=spec.max_zoom,
        )
    ]
    if labels_url:
        # Place-name annotation: always on top of the base, not a switchable base.
        layers.append(
            folium.TileLayer(
                tiles=labels_url,
                attr=spec.attribution,
                name=spec.label + " 注记",
                subdomains=spec.subdomains,
                max_zoom=spec.max_zoom,
                overlay=True,
                control=False,
            )
        )
    return layers


# --------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------


def _offline_child(m: folium.Map) -> _OfflineLeaflet | None:
    for child in m._children.values():
        if isinstance(child, _OfflineLeaflet):
            return child
    return None


def _set_mode(m: folium.Map, mode: Literal["page", "streamlit"]) -> folium.Map:
    # Instance attributes shadow folium's class-level CDN lists; fresh lists so
    # a later m.add_js_link() cannot mutate folium's module globals.
    if mode == "page":
        m.default_js = []
    else:
        assets = leaflet_assets()
        m.default_js = [
            (name, _data_uri("text/javascript", js.encode("utf-8")))
            for name, js in zip(_STREAMLIT_JS_NAMES, (assets.js, assets.helpers_js))
        ]
    m.default_css = []
    element = _offline_child(m)
    if element is None:
        element = _OfflineLeaflet()
        # First child, so Leaflet precedes anything a later child puts in the header.
        m._children = OrderedDict([(element.get_name(), element), *m._children.items()])
        element._parent = m
    element.inline_js = mode == "page"
    if not hasattr(m, "offline_basemap"):
        m.offline_basemap = None
        m.overlays_need_gcj02 = False
    return m


def make_offline(m: folium.Map) -> folium.Map:
    """Turn an existing folium map into one with inlined Leaflet and no CDN links.

    Parameters
    ----------
    m : folium.Map
        Modified in place. Tile layers already on it are kept (they will be
        reported by :func:`assert_offline`).

    Returns
    -------
    folium.Map
        The same map.
    """
    return _set_mode(m, "page")


def new_map(
    location: tuple[float, float] | None = None,
    zoom_start: int = 13,
    basemap: str | None = None,
    *,
    tianditu_key: str | None = None,
    **kwargs: Any,
) -> folium.Map:
    """Create a folium map that loads nothing from the network.

    Parameters
    ----------
    location : (float, float), optional
        Centre as (latitude, longitude) in WGS84. None: whole world, zoom 1
        (call ``m.fit_bounds`` afterwards).
    zoom_start : int, default 13
        Initial zoom; 13 shows a Wuhai district.
    basemap : {None, "osm", "tianditu", "amap"}, default None
        None draws no tiles at all (the street layer gives context) and the map
        is fully offline. The others add tiles that need internet; ``"amap"``
        is GCJ-02 (see :func:`basemap_is_gcj02`).
    tianditu_key : str, optional
        Tianditu browser key, required for ``basemap="tianditu"``. It is
        written into the page, as the tile servers need it in each URL.
    **kwargs
        Passed to :class:`folium.Map` (``width``, ``height``, ``prefer_canvas``
        …). ``control_scale`` defaults to True: planners read distances.

    Returns
    -------
    folium.Map
        With ``m.offline_basemap`` (canonical basemap name or None) and
        ``m.overlays_need_gcj02`` (bool) set.

    Raises
    ------
    ValueInputError
        Unknown basemap, or Tianditu without a usable key.
    TypeError
        If ``tiles`` or ``attr`` is passed: use ``basemap``.
    """
    for forbidden in ("tiles", "attr"):
        if forbidden in kwargs:
            raise TypeError(f"new_map() takes basemap=, not {forbidden}=")
    name = _basemap_name(basemap) if basemap is not None else None
    layers = _tile_layers(name, tianditu_key) if name else []
    kwargs.setdefault("control_scale", True)
    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None, **kwargs)
    _set_mode(m, "page")
    for layer in layers:
        layer.add_to(m)
    m.offline_basemap = name
    m.overlays_need_gcj02 = bool(name and BASEMAPS[name].gcj02)
    return m


# --------------------------------------------------------------------------
# Legend and title: Leaflet controls, so they sit on the map in any page
# --------------------------------------------------------------------------

_CSS_COLOUR = re.compile(
    r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})"
    r"|(?:rgb|rgba|hsl|hsla)\(\s*[0-9.%]+\s*(?:[,\s]\s*[0-9.%]+\s*){2,3}(?:/\s*[0-9.%]+\s*)?\)"
    r"|[a-zA-Z]{3,20}"
)


def _js_string(markup: str) -> str:
    # JSON string for a <script>: "<" escaped so no "</script>" or "<!--" can form;
    # "&" left alone so already-escaped text still reads as &lt;… in the source.
    return json.dumps(markup, ensure_ascii=False).replace("<", "\\u003c")


class _HtmlControl(MacroElement):
    """A Leaflet control (or a centred box) whose content is fixed markup."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            {%- if this.position == "topcenter" %}
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }}, map.getContainer());
            div.style.cssText = {{ this.style|tojson }}
                + "position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:1000;";
            div.innerHTML = {{ this.markup_js }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            {%- else %}
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.style.cssText = {{ this.style|tojson }};
                div.innerHTML = {{ this.markup_js }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo(map);
            {%- endif %}
        })();
        {% endmacro %}
        """
    )

    def __init__(self, name: str, css_class: str, markup: str, style: str, position: str):
        super().__init__()
        self._name = name
        self.css_class = css_class
        self.markup_js = _js_string(markup)
        self.style = style
        self.position = position


_BOX_STYLE = (
    "background:rgba(255,255,255,0.92);padding:6px 10px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,0.35);color:#222;"
    "font:12px/1.5 'Helvetica Neue',Arial,'PingFang SC','Microsoft YaHei',sans-serif;"
)


def add_legend(
    m: folium.Map,
    title: str,
    items: list[tuple[str, str]],
    position: str = "bottomright",
) -> MacroElement:
    """Add a legend box drawn with plain Leaflet (no branca/d3, no CDN).

    The box is a Leaflet control: it stays put in a map corner while the map
    pans, inside the map even when the map is not the whole page.

    Parameters
    ----------
    m : folium.Map
        Map to add to.
    title : str
        Legend heading; plain text, HTML-escaped.
    items : list of (str, str)
        ``(colour, label)`` pairs, in display order. ``colour`` is a CSS
        colour (``#1a9850``, ``rgb(…)``, ``red``); ``label`` is plain text,
        HTML-escaped, so a facility called ``<b>`` shows literally.
    position : {"bottomright", "bottomleft", "topright", "topleft"}
        Map corner.

    Returns
    -------
    branca.element.MacroElement
        The legend element, already added to ``m``.

    Raises
    ------
    ValueError
        For a colour that is not a plain CSS colour or an unknown position.
    """
    if position not in {"bottomright", "bottomleft", "topright", "topleft"}:
        raise ValueError(f"unknown legend position {position!r}")
    rows = []
    for colour, label in items:
        colour = str(colour).strip()
        if not _CSS_COLOUR.fullmatch(colour):
            raise ValueError(f"legend colour {colour!r} is not a CSS colour")
        rows.append(
            '<div><i style="display:inline-block;width:14px;height:14px;'
            f"margin-right:6px;vertical-align:-2px;border:1px solid #555;"
            f'background:{colour};"></i>{html_lib.escape(str(label))}</div>'
        )
    markup = f"<b>{html_lib.escape(str(title))}</b>" + "".join(rows)
    legend = _HtmlControl("Legend", "coverage-legend", markup, _BOX_STYLE, position)
    m.add_child(legend)
    return legend


def add_title(m: folium.Map, html_title: str) -> MacroElement:
    """Add a title centred over the top of the map and as the page ``<title>``.

    Parameters
    ----------
    m : folium.Map
        Map to add to.
    html_title : str
        Title text, shown as text: it is HTML-escaped (data-derived names such
        as a district from ``meta.json`` are never interpreted as markup).

    Returns
    -------
    branca.element.MacroElement
        The title element, already added to ``m``.
    """
    text = html_lib.escape(str(html_title))
    root = m.get_root()
    if isinstance(root, Figure):
        root.title = text  # branca writes it into <title> unescaped
    style = _BOX_STYLE + "font-size:16px;font-weight:bold;padding:4px 14px;"
    title = _HtmlControl("MapTitle", "coverage-map-title", text, style, "topcenter")
    m.add_child(title)
    return title


# --------------------------------------------------------------------------
# Checking and writing
# --------------------------------------------------------------------------

# Tag -> attributes whose URL the browser fetches on its own (not <a href>).
_RESOURCE_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "base": ("href",),
    "body": ("background",),
}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_CSS_IMPORT = re.compile(r"@import\s+(['\"])(.*?)\1", re.IGNORECASE)
_JS_TILES = re.compile(r"\bL\.tileLayer(?:\.wms)?\(\s*([\"'`])(.*?)\1", re.DOTALL)
_JS_URL_CALLS = [
    re.compile(r"\bL\.(?:imageOverlay|videoOverlay)\(\s*([\"'`])(.*?)\1", re.DOTALL),
    re.compile(r"[\"']?(?:icon|iconRetina|shadow|shadowRetina)Url[\"']?\s*:\s*([\"'])(.*?)\1"),
    re.compile(
        r"(?:\bfetch|\$\.ajax|\$\.getJSON|\$\.get|\bimportScripts|\bimport)\(\s*([\"'`])(.*?)\1"
    ),
    # HTML inside JS strings (popup/tooltip content): absolute src/poster only.
    re.compile(r"\b(?:src|poster)\s*=\s*(\\?[\"']?)((?:https?:)?//[^\s\"'\\<>]+)"),
]
_LOCAL_SCHEMES = {"data", "blob", "about", "javascript", "file"}


def _is_external(url: str) -> bool:
    u = url.strip().lower()
    if u.startswith("//"):
        return True
    scheme = re.match(r"^([a-z][a-z0-9+.\-]*):", u)
    # One letter is a Windows drive ("C:\..."), not a scheme.
    return bool(scheme) and len(scheme.group(1)) > 1 and scheme.group(1) not in _LOCAL_SCHEMES


def _js_unescape(text: str) -> str:
    # folium writes strings with tojson (& as \u0026); report them as the browser reads them.
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _css_urls(css: str) -> Iterator[str]:
    for match in _CSS_URL.finditer(css):
        yield match.group(2)
    for match in _CSS_IMPORT.finditer(css):
        yield match.group(2)


def _srcset_urls(value: str) -> Iterator[str]:
    for candidate in value.split(","):
        parts = candidate.strip().split()
        if parts:
            yield parts[0]


def _scan(html: str) -> tuple[list[str], list[str]]:
    """Return (external resource URLs, tile URL templates) of a page."""
    soup = BeautifulSoup(html, "html.parser")
    found: list[str] = []
    tiles: list[str] = []
    for tag in soup.find_all(True):
        for attr in _RESOURCE_ATTRS.get(tag.name, ()):
            value = tag.get(attr)
            if not value:
                continue
            value = " ".join(value) if isinstance(value, list) else str(value)
            found.extend(_srcset_urls(value) if attr == "srcset" else [value])
        if tag.get("style"):
            found.extend(_css_urls(str(tag["style"])))
    for style in soup.find_all("style"):
        found.extend(_css_urls(style.get_text()))
    for script in soup.find_all("script"):
        text = script.get_text()
        tiles.extend(_js_unescape(match.group(2)) for match in _JS_TILES.finditer(text))
        for pattern in _JS_URL_CALLS:
            found.extend(_js_unescape(match.group(2)) for match in pattern.finditer(text))
        found.extend(_css_urls(text))
    external = [u.strip() for u in found if _is_external(u)]
    return list(dict.fromkeys(external)), list(dict.fromkeys(tiles))


def find_tile_urls(html: str) -> list[str]:
    """Tile URL templates (``L.tileLayer`` / ``L.tileLayer.wms``) in a page.

    Parameters
    ----------
    html : str
        A rendered page.

    Returns
    -------
    list of str
        Templates as written, e.g. ``https://tile.openstreetmap.org/{z}/{x}/{y}.png``.
    """
    return _scan(html)[1]


def assert_offline(html: str, *, allow_tiles: bool = False) -> list[str]:
    """List every external URL a page would fetch by itself.

    Looks at resource attributes of tags (``<script src>``, ``<link href>``,
    ``<img src>``, …; not ``<a href>``, which only a click follows), at
    ``url(…)`` and ``@import`` in ``<style>``, ``style=""`` and scripts, and at
    URL-taking calls in scripts (``L.tileLayer``, ``L.imageOverlay``, icon
    URLs, ``fetch``/``$.ajax``, ``src=`` inside popup HTML). ``data:``,
    ``blob:``, ``file:`` and relative URLs are local.

    Parameters
    ----------
    html : str
        A rendered page.
    allow_tiles : bool, default False
        Leave out tile URL templates (when a basemap was asked for); list them
        with :func:`find_tile_urls`.

    Returns
    -------
    list of str
        External URLs in order of appearance, without duplicates. Empty means
        the page works with no network.
    """
    external, tiles = _scan(html)
    if allow_tiles:
        return external
    return list(dict.fromkeys(external + [t for t in tiles if _is_external(t)]))


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _unsupported(m: folium.Map) -> list[str]:
    """Explain every element of the map that needs a CDN."""
    problems = []
    for el in _walk(m):
        kind = type(el).__name__
        if isinstance(el, folium.Icon) and not isinstance(el, CustomIcon):
            problems.append(
                f"{kind} {el.get_name()}: folium.Icon draws with Leaflet.awesome-markers "
                "from a CDN; use folium.CircleMarker, folium.DivIcon or a Marker "
                "without icon"
            )
        elif isinstance(el, GeoJson) and not el.embed:
            problems.append(
                f"{kind} {el.get_name()}: GeoJson(embed=False) loads its data with "
                "jQuery $.ajax; keep embed=True"
            )
        elif isinstance(el, ColorMap):
            problems.append(
                f"{kind}: branca colormaps load d3 from a CDN; use add_legend()"
            )
        elif isinstance(el, JSCSSMixin) and el is not m:
            links = [url for _, url in [*el.default_js, *el.default_css] if _is_external(url)]
            if links:
                problems.append(f"{kind} loads {', '.join(links)}")
    return problems


def to_standalone_html(m: folium.Map) -> str:
    """Render a map as one complete HTML page that needs no network.

    The map is first made offline in place (:func:`make_offline`), so a plain
    ``folium.Map`` works too, as long as it only uses Leaflet features.

    Parameters
    ----------
    m : folium.Map
        The map; its basemap, if made by :func:`new_map` with one, is the only
        external address allowed.

    Returns
    -------
    str
        The page (``<!DOCTYPE html>`` … ``</html>``), UTF-8 text.

    Raises
    ------
    OfflineAssetError
        If an element needs a CDN (``folium.Icon``, plugins, colormaps,
        ``GeoJson(embed=False)``) or the page still references an external URL.
    """
    make_offline(m)
    problems = _unsupported(m)
    if problems:
        raise OfflineAssetError("map cannot work offline: " + "; ".join(problems))
    page = m.get_root().render()
    external = assert_offline(page, allow_tiles=bool(getattr(m, "offline_basemap", None)))
    if external:
        raise OfflineAssetError(
            "map page references external URLs: " + ", ".join(external[:10])
            + (f" (and {len(external) - 10} more)" if len(external) > 10 else "")
        )
    return page


def prepare_for_streamlit(m: folium.Map) -> folium.Map:
    """Make a map safe to pass to ``streamlit_folium.st_folium`` offline.

    st_folium executes only the map's ``default_js`` URLs, not inline header
    scripts (see the module notes), so Leaflet and the helper script become two
    ``data:`` URIs in ``m.default_js``; Leaflet's CSS stays an inline
    ``<style>`` in the header, which st_folium forwards and applies.

    Parameters
    ----------
    m : folium.Map
        Modified in place. Calling :func:`to_standalone_html` on it later
        switches it back to inline scripts.

    Returns
    -------
    folium.Map
        The same map.

    Raises
    ------
    OfflineAssetError
        If an element needs a CDN (same checks as :func:`to_standalone_html`).
    """
    _set_mode(m, "streamlit")
    problems = _unsupported(m)
    if problems:
        raise OfflineAssetError("map cannot work offline: " + "; ".join(problems))
    return m


def escape_properties(
    frame: pd.DataFrame, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """HTML-escape text attributes before they reach a GeoJson tooltip or popup.

    folium's ``GeoJsonTooltip``/``GeoJsonPopup`` insert values with
    ``innerHTML``; escaping here makes user-supplied names display as text.

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame
        Layer to draw; not modified.
    columns : sequence of str, optional
        Columns to escape; default every column except the geometry.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A copy in which every ``str`` value of those columns is escaped
        (``<`` → ``&lt;`` …); other values are unchanged.
    """
    out = frame.copy()
    geometry = getattr(frame, "_geometry_column_name", None)
    for column in columns if columns is not None else list(out.columns):
        if column == geometry:
            continue
        out[column] = out[column].map(
            lambda v: html_lib.escape(v) if isinstance(v, str) else v
        )
    return out
