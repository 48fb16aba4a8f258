"""Offline maps: no CDN, inlined Leaflet 1.9.4, escaped text, real browser check."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import folium
import pytest

from coverage.errors import ValueInputError
from coverage.outputs.offline import (
    OfflineAssetError,
    add_legend,
    add_title,
    assert_offline,
    basemap_is_gcj02,
    escape_properties,
    find_tile_urls,
    leaflet_assets,
    new_map,
    prepare_for_streamlit,
    to_standalone_html,
)

HAIBOWAN = (39.68, 106.82)
EVIL = "<script>alert(1)</script>"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _square(lon: float, lat: float, d: float, name: str) -> dict:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {
        "type": "Feature",
        "properties": {"name": name, "share": 0.8},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def _planning_map() -> folium.Map:
    """The kind of map the report draws: layers, tooltip, popup, legend, control."""
    m = new_map(HAIBOWAN, zoom_start=14)
    covered = folium.FeatureGroup(name="15-minute coverage").add_to(m)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [_square(106.81, 39.672, 0.01, "滨河街道")]},
        name="communities",
        style_function=lambda f: {"color": "#1a9850", "fillOpacity": 0.3},
        tooltip=folium.GeoJsonTooltip(fields=["name", "share"]),
        popup=folium.GeoJsonPopup(fields=["name"]),
    ).add_to(covered)
    folium.GeoJson(
        {
            "type": "Feature",
            "properties": {"name": "street"},
            "geometry": {"type": "LineString", "coordinates": [[106.80, 39.67], [106.83, 39.69]]},
        },
        name="streets",
        style_function=lambda f: {"color": "#555", "weight": 2},
    ).add_to(m)
    folium.CircleMarker(
        (39.677, 106.815), radius=9, class_name="test-station",
        # A number: folium's default max_width="100%" squeezes CJK text to one column.
        popup=folium.Popup("社区卫生服务站 A", max_width=250),
        color="#d73027", fill=True,
    ).add_to(m)
    folium.Marker((39.68, 106.825)).add_to(m)  # Leaflet's own pin, no folium.Icon
    add_legend(m, "图例 legend", [("#1a9850", "within 500 m"), ("#d73027", EVIL)])
    add_title(m, "海勃湾区 15-minute health circles")
    folium.LayerControl(collapsed=False).add_to(m)
    return m


# ---------------------------------------------------------------- assets


def test_inlined_leaflet_is_1_9_4_with_images_as_data_uris():
    assets = leaflet_assets()
    assert assets.version == "1.9.4"
    assert "Leaflet 1.9.4" in assets.js[:300]
    assert "sourceMappingURL" not in assets.js
    assert "images/" not in assets.css
    assert assets.css.count("url(data:image/png;base64,") >= 3
    assert {"marker-icon.png", "marker-shadow.png", "layers.png"} <= set(assets.icons)


# ---------------------------------------------------------------- page


def test_planning_map_page_references_nothing_external():
    page = to_standalone_html(_planning_map())
    assert page.startswith("<!DOCTYPE html>")
    assert assert_offline(page) == []
    assert find_tile_urls(page) == []
    assert "<script src" not in page and "<link " not in page
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "bootstrapcdn"):
        assert cdn not in page
    assert "Leaflet 1.9.4" in page
    assert 'version="1.9.4"' in page


def test_folium_class_defaults_are_left_alone():
    new_map(HAIBOWAN)
    assert any("leaflet" in url for _, url in folium.Map.default_js)


def test_plain_folium_map_is_converted_by_to_standalone_html():
    m = folium.Map(HAIBOWAN, tiles=None)
    folium.GeoJson(_square(106.81, 39.67, 0.01, "x")).add_to(m)
    assert "cdn.jsdelivr.net" in m.get_root().render()  # rendered once with CDN links
    page = to_standalone_html(m)
    assert assert_offline(page) == [] and "Leaflet 1.9.4" in page


def test_legend_and_title_text_is_escaped():
    m = new_map(HAIBOWAN)
    add_legend(m, EVIL, [("red", EVIL)])
    add_title(m, "<b>" + EVIL)
    page = to_standalone_html(m)
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>&lt;b&gt;&lt;script&gt;" in page


def test_legend_refuses_css_injection_in_colour():
    with pytest.raises(ValueError, match="CSS colour"):
        add_legend(new_map(), "t", [("red;background:url(http://x/y.png)", "a")])


def test_escape_properties_escapes_text_only():
    import geopandas as gpd
    from shapely.geometry import Point

    gdf = gpd.GeoDataFrame(
        {"name": ["<img src=x onerror=alert(1)>", "站"], "population": [10, 20]},
        geometry=[Point(106.8, 39.6), Point(106.81, 39.61)],
        crs=4326,
    )
    out = escape_properties(gdf)
    assert out.loc[0, "name"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert out.loc[1, "name"] == "站"
    assert out["population"].tolist() == [10, 20]
    assert gdf.loc[0, "name"].startswith("<img")  # input untouched


# ---------------------------------------------------------------- checker


def test_assert_offline_finds_every_kind_of_external_reference():
    page = """<!DOCTYPE html><html><head>
    <script src="https://cdn.example.com/a.js"></script>
    <link rel="stylesheet" href="//cdn.example.com/b.css">
    <style>@import url("https://fonts.example.com/c.css");
      @import 'http://fonts.example.com/d.css';
      @font-face { font-family: X; src: url(https://fonts.example.com/e.woff2); }
      .ok { background: url(data:image/png;base64,AAAA); }
      .vml { behavior: url(#default#VML); }</style>
    </head><body>
    <img srcset="local.png 1x, https://img.example.com/f.png 2x">
    <div style="background-image:url('http://img.example.com/g.png')"></div>
    <a href="https://www.openstreetmap.org/copyright">not fetched</a>
    <svg xmlns="http://www.w3.org/2000/svg"></svg>
    <img src="relative/ok.png"><img src="file:///tmp/ok.png">
    <script>
      L.tileLayer("https://tiles.example.com/{z}/{x}/{y}.png", {}).addTo(map);
      L.marker([0, 0], {icon: L.icon({"iconUrl": "https://img.example.com/h.png"})});
      fetch("https://api.example.com/i.json");
      var popup = "<img src=\\"https://img.example.com/j.png\\">";
      var attribution = '<a href="https://leafletjs.com">Leaflet</a>';
    </script></body></html>"""
    found = assert_offline(page)
    expected = [
        "https://cdn.example.com/a.js",
        "//cdn.example.com/b.css",
        "https://fonts.example.com/c.css",
        "http://fonts.example.com/d.css",
        "https://fonts.example.com/e.woff2",
        "https://img.example.com/f.png",
        "http://img.example.com/g.png",
        "https://img.example.com/h.png",
        "https://api.example.com/i.json",
        "https://img.example.com/j.png",
        "https://tiles.example.com/{z}/{x}/{y}.png",
    ]
    assert sorted(found) == sorted(expected)
    assert "https://tiles.example.com/{z}/{x}/{y}.png" not in assert_offline(page, allow_tiles=True)
    assert find_tile_urls(page) == ["https://tiles.example.com/{z}/{x}/{y}.png"]


def test_inlined_leaflet_itself_passes_the_checker():
    assets = leaflet_assets()
    page = f"<html><head><style>{assets.css}</style><script>{assets.js}</script>"
    page += f"<script>{assets.helpers_js}</script></head></html>"
    assert assert_offline(page) == []


def _add_awesome_icon(m: folium.Map) -> None:
    folium.Marker(HAIBOWAN, icon=folium.Icon(color="red")).add_to(m)


def _add_cdn_plugin(m: folium.Map) -> None:
    from folium.plugins import Fullscreen

    Fullscreen().add_to(m)


def _add_colormap(m: folium.Map) -> None:
    from branca.colormap import LinearColormap

    LinearColormap(["red", "blue"]).add_to(m)


def _add_linked_geojson(m: folium.Map) -> None:
    layer = folium.GeoJson(_square(106.8, 39.6, 0.01, "x")).add_to(m)
    layer.embed = False  # as GeoJson(url, embed=False) would, without fetching


@pytest.mark.parametrize(
    "add", [_add_awesome_icon, _add_cdn_plugin, _add_colormap, _add_linked_geojson]
)
def test_cdn_only_features_are_refused(add):
    m = new_map(HAIBOWAN)
    add(m)
    with pytest.raises(OfflineAssetError, match="cannot work offline"):
        to_standalone_html(m)


# ---------------------------------------------------------------- basemaps


def test_osm_basemap_is_the_only_allowed_external_url():
    m = new_map(HAIBOWAN, basemap="osm")
    page = to_standalone_html(m)
    assert find_tile_urls(page) == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    assert assert_offline(page) == find_tile_urls(page)
    assert assert_offline(page, allow_tiles=True) == []
    assert m.offline_basemap == "osm" and m.overlays_need_gcj02 is False


def test_tianditu_needs_a_key_and_puts_it_in_both_layers():
    with pytest.raises(ValueInputError, match="tianditu_key"):
        new_map(HAIBOWAN, basemap="天地图")
    key = "0123456789abcdef0123456789abcdef"
    m = new_map(HAIBOWAN, basemap="tianditu", tianditu_key=key)
    tiles = find_tile_urls(to_standalone_html(m))
    assert len(tiles) == 2
    assert all("tianditu.gov.cn" in t and t.endswith("tk=" + key) for t in tiles)
    layers = {p for t in tiles for p in t.split("&") if p.startswith("LAYER=")}
    assert layers == {"LAYER=vec", "LAYER=cva"}
    with pytest.raises(ValueInputError):
        new_map(basemap="tianditu", tianditu_key="abc&callback=x")


def test_amap_is_flagged_gcj02():
    m = new_map(HAIBOWAN, basemap="amap")
    assert m.overlays_need_gcj02 is True and m.offline_basemap == "amap"
    assert "autonavi.com" in find_tile_urls(to_standalone_html(m))[0]
    assert basemap_is_gcj02("高德") and basemap_is_gcj02("AMAP")
    assert not basemap_is_gcj02("osm") and not basemap_is_gcj02("tianditu")
    assert not basemap_is_gcj02(None)
    with pytest.raises(ValueInputError, match="unknown basemap"):
        basemap_is_gcj02("google")


def test_no_basemap_means_no_tile_layer_and_tiles_kwarg_refused():
    m = new_map(HAIBOWAN)
    assert not any(isinstance(c, folium.TileLayer) for c in m._children.values())
    with pytest.raises(TypeError, match="basemap"):
        new_map(HAIBOWAN, tiles="OpenStreetMap")


# ---------------------------------------------------------------- streamlit


def test_prepare_for_streamlit_feeds_st_folium_only_data_uris(monkeypatch):
    streamlit_folium = pytest.importorskip("streamlit_folium")
    sent: dict = {}
    monkeypatch.setattr(
        streamlit_folium, "_component_func", lambda **kw: sent.update(kw) or kw["default"]
    )
    m = prepare_for_streamlit(_planning_map())
    streamlit_folium.st_folium(m, returned_objects=[])

    assert sent["css_links"] == []
    assert len(sent["js_links"]) == 2
    assert all(link.startswith("data:text/javascript;base64,") for link in sent["js_links"])
    leaflet = base64.b64decode(sent["js_links"][0].split(",", 1)[1]).decode()
    assert "Leaflet 1.9.4" in leaflet[:300]
    assert ".leaflet-container" in sent["header"]  # CSS travels as <style>
    assert "Leaflet 1.9.4" not in sent["header"]  # inline JS would not run there
    assert "coverage-legend" in sent["script"] and "L.control" in sent["script"]
    for text in (sent["header"], sent["html"], sent["script"]):
        assert assert_offline(f"<script>{text}</script>") == []

    # The same map written as a page switches back to inline scripts.
    page = to_standalone_html(m)
    assert "data:text/javascript" not in page and "Leaflet 1.9.4" in page


# ---------------------------------------------------------------- browser


def test_page_renders_in_chromium_with_network_blocked(tmp_path: Path):
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip("chromium not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")

    page_file = tmp_path / "offline_map.html"
    page_file.write_text(to_standalone_html(_planning_map()), encoding="utf-8")

    requests: list[str] = []
    errors: list[str] = []

    def gate(route):
        url = route.request.url
        requests.append(url)
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            route.abort()

    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        except sync_api.Error as exc:  # installed but cannot start in this sandbox
            pytest.skip(f"chromium cannot be launched: {exc}")
        try:
            context = browser.new_context(viewport={"width": 900, "height": 650})
            context.route("**/*", gate)
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri())
            page.wait_for_function("window.L !== undefined", timeout=10_000)

            assert page.evaluate("window.L.version") == "1.9.4"
            assert page.locator("path.leaflet-interactive").count() >= 3
            legend = page.locator(".coverage-legend").inner_text()
            assert EVIL in legend  # shown as text, not run
            assert page.evaluate("document.querySelectorAll('.coverage-legend script').length") == 0
            assert page.locator(".coverage-map-title").inner_text().startswith("海勃湾区")
            marker = page.locator("img.leaflet-marker-icon").get_attribute("src")
            assert marker.startswith("data:image/png;base64,")

            # folium.Popup needs jQuery's $(html)[0]: the stand-in must do it.
            page.locator("path.test-station").click()
            popup = page.locator(".leaflet-popup-content").inner_text()
            assert popup.strip() == "社区卫生服务站 A"
            page.wait_for_timeout(300)  # popup fade-in, for a readable screenshot
            page.screenshot(path="/tmp/offline_map.png")
        finally:
            browser.close()

    assert errors == []
    assert requests, "no request recorded: the route gate did not run"
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
