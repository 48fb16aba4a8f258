"""How the plan map behaves in the app: the planner's view kept, the wheel tamed, the legend folded.

:func:`coverage.outputs.mapview.plan_map` draws the same map for the report and
the app; in the app the map is redrawn on every rerun (a new station, a new
parameter) and sits in a scrolling page, so :func:`app_map` adds a small
script to it:

- **the view is kept**: centre and zoom are saved in the browser tab's
  ``sessionStorage`` on every move and restored when the map is redrawn, so a
  rerun neither re-zooms to the data nor jumps to the last station (the key
  names the data source: a new data set starts from its own extent);
- **the scroll wheel scrolls the page** until the map is clicked, and again
  once the pointer leaves the map (Leaflet's ``scrollWheelZoom``);
- **the legend folds** under its title (folded at first on maps narrower than
  :data:`LEGEND_OPEN_MIN_PX`), and the layer box opens on hover only.

No network, no new library: plain Leaflet calls in the map's own script.
"""

from __future__ import annotations

import hashlib

import folium
from branca.element import MacroElement
from jinja2 import Template

__all__ = ["LEGEND_OPEN_MIN_PX", "app_map", "view_key"]

#: Maps at least this wide (CSS pixels) show the legend unfolded at first.
LEGEND_OPEN_MIN_PX = 900


class _AppBehaviour(MacroElement):
    """The script described in the module notes; rendered after every other child of the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var key = {{ this.key|tojson }};
            var store = null;
            try { store = window.sessionStorage; } catch (e) { store = null; }
            function load(k) { try { return store ? JSON.parse(store.getItem(k)) : null; } catch (e) { return null; } }
            function save(k, v) { try { if (store) { store.setItem(k, JSON.stringify(v)); } } catch (e) {} }
            map.scrollWheelZoom.disable();
            map.on("click", function () { map.scrollWheelZoom.enable(); });
            map.on("mouseout", function () { map.scrollWheelZoom.disable(); });
            var view = load(key);
            if (view && isFinite(view.lat) && isFinite(view.lng) && isFinite(view.zoom)) {
                map.setView([view.lat, view.lng], view.zoom, {animate: false});
            }
            map.on("moveend", function () {
                var c = map.getCenter();
                save(key, {lat: c.lat, lng: c.lng, zoom: map.getZoom()});
            });
            var legend = map.getContainer().querySelector(".coverage-legend");
            if (legend && legend.firstChild) {
                var head = legend.firstChild;
                var body = document.createElement("div");
                body.className = "coverage-legend-body";
                while (head.nextSibling) { body.appendChild(head.nextSibling); }
                legend.appendChild(body);
                var mark = document.createElement("span");
                mark.className = "coverage-legend-toggle";
                mark.style.cssText = "margin-left:8px;color:#555;";
                head.appendChild(mark);
                head.style.cursor = "pointer";
                head.setAttribute("role", "button");
                head.setAttribute("title", {{ this.toggle_title|tojson }});
                var folded = load(key + ":legend");
                if (folded === null) { folded = map.getSize().x < {{ this.open_min }}; }
                var show = function () {
                    body.style.display = folded ? "none" : "";
                    mark.textContent = folded ? "[+]" : "[\u2212]";
                    legend.setAttribute("data-folded", folded ? "true" : "false");
                };
                head.addEventListener("click", function (ev) {
                    ev.stopPropagation();
                    folded = !folded;
                    save(key + ":legend", folded);
                    show();
                });
                show();
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, key: str, toggle_title: str, open_min: int):
        super().__init__()
        self._name = "AppBehaviour"
        self.key = key
        self.toggle_title = toggle_title
        self.open_min = int(open_min)


def view_key(source: tuple) -> str:
    """The ``sessionStorage`` key of the map view for a data source (a digest: no path in the page)."""
    return "coverage-view-" + hashlib.sha256(repr(source).encode("utf-8")).hexdigest()[:16]


def app_map(m: folium.Map, key: str, toggle_title: str = "图例 Legend",
            open_min: int = LEGEND_OPEN_MIN_PX) -> folium.Map:
    """Give a plan map the app's behaviour (see the module notes); returns the same map.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`coverage.outputs.mapview.plan_map`; modified in place.
    key : str
        Where the view is kept (:func:`view_key` of the data source).
    toggle_title : str
        Tooltip of the legend title (what a click on it does).
    open_min : int
        Narrower maps start with the legend folded.
    """
    for child in m._children.values():
        if isinstance(child, folium.LayerControl):
            child.options["collapsed"] = True  # opens on hover: it covered a third of a small map
    m.add_child(_AppBehaviour(key, toggle_title, open_min))
    return m
