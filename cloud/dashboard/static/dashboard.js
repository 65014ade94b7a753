// The vicoop dashboard: the pilot zone's live picture from the cloud twin's control API.
// Reads the API with a bearer token (#token=... once, then kept in this tab's sessionStorage) and
// follows the live feed (server-sent events at /api/v1/feed: `snapshot` every feed interval,
// `zone` and `event` when they happen). Leaflet draws WGS84 vector layers on a graticule; no
// tiles, nothing loaded from outside.
"use strict";

(() => {
  const CLASS_COLOURS = {
    car: "#2563eb",
    van: "#0891b2",
    truck: "#7c3aed",
    bus: "#9333ea",
    tram: "#a21caf",
    motorcycle: "#0d9488",
    bicycle: "#ea580c",
    pedestrian: "#db2777",
    animal: "#65a30d",
    unknown: "#6b7280",
  };
  const PEOPLE = new Set(["pedestrian", "bicycle", "animal"]);
  const SIGNAL_COLOURS = {
    red: "#e11d2e",
    amber: "#f59e0b",
    red_amber: "#f97316",
    green: "#16a34a",
    dark: "#4b5563",
    unspecified: "#9ca3af",
  };
  const COMPASS = { north: [0, -1], east: [1, 0], south: [0, 1], west: [-1, 0] };
  // J2735 movement phase states as a signal head's colour.
  const PHASE_COLOURS = {
    unavailable: "unspecified",
    dark: "dark",
    stop_then_proceed: "red",
    stop_and_remain: "red",
    pre_movement: "red_amber",
    permissive_movement_allowed: "green",
    protected_movement_allowed: "green",
    permissive_clearance: "amber",
    protected_clearance: "amber",
    caution_conflicting_traffic: "amber",
  };
  const EVENT_LABELS = {
    zone_speeding: "Speeding in zone",
    zone_closed_entry: "Entry into closed zone",
    zone_class_not_allowed: "Class not allowed in zone",
    vehicle_report_rejected: "Vehicle report rejected",
    sensor_health: "Sensor health",
    other: "Other",
    zone_permit_not_accepted: "Permit not accepted in zone",
  };
  const TRAIL_POINTS = 24;
  const MOVING_MPS = 0.5;
  const MAX_EVENTS = 200;
  const M_PER_DEG_LAT = 111320;

  // -- token and API ------------------------------------------------------------------------------

  // The token comes in the URL's fragment (#token=...), which the browser never sends to a server
  // (so it is in no access log), and is kept in this tab's sessionStorage, out of the address bar.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem("vicoop-token", fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  let token = sessionStorage.getItem("vicoop-token") || "";

  const $ = (id) => document.getElementById(id);
  const esc = (value) =>
    String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  class Unauthorised extends Error {}

  async function api(path, method = "GET") {
    const response = await fetch(path, { method, headers: { Authorization: "Bearer " + token } });
    if (response.status === 401) throw new Unauthorised("token rejected");
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  function askForToken(reason) {
    $("login-reason").textContent = reason;
    $("login").hidden = false;
    $("login-token").focus();
  }

  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("login-token").value.trim();
    sessionStorage.setItem("vicoop-token", token);
    $("login").hidden = true;
    start();
  });

  // -- map ------------------------------------------------------------------------------------------

  const map = L.map("map", { zoomSnap: 0.25, minZoom: 2, maxZoom: 22, worldCopyJump: false }).setView([20, 0], 2);
  map.attributionControl.setPrefix("Leaflet");
  L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);
  for (const [name, z] of [["grid", 200], ["roads", 300], ["zones", 390], ["coverage", 380], ["trails", 410], ["objects", 600], ["rsus", 640], ["signals", 650]]) {
    map.createPane(name).style.zIndex = z;
  }
  map.getPane("grid").style.pointerEvents = "none";
  map.getPane("trails").style.pointerEvents = "none";

  const grid = L.layerGroup([], { pane: "grid" }).addTo(map);
  function drawGrid() {
    grid.clearLayers();
    const b = map.getBounds();
    const span = Math.max(b.getEast() - b.getWest(), 1e-9);
    const raw = span / 8;
    const exp = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * exp).find((s) => s >= raw);
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    const style = { pane: "grid", color: "#c9ced4", weight: 1, interactive: false };
    const south = Math.max(-85, b.getSouth()), north = Math.min(85, b.getNorth());
    for (let lon = Math.ceil(b.getWest() / step) * step; lon <= b.getEast(); lon += step) {
      grid.addLayer(L.polyline([[south, lon], [north, lon]], style));
      grid.addLayer(
        L.tooltip({ permanent: true, direction: "bottom", className: "grid-label", pane: "grid", offset: [14, 0] })
          .setLatLng([north, lon]).setContent(lon.toFixed(digits) + "°"),
      );
    }
    for (let lat = Math.ceil(south / step) * step; lat <= north; lat += step) {
      grid.addLayer(L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style));
      grid.addLayer(
        L.tooltip({ permanent: true, direction: "right", className: "grid-label", pane: "grid" })
          .setLatLng([lat, b.getWest()]).setContent(lat.toFixed(digits) + "°"),
      );
    }
  }
  map.on("moveend zoomend resize", drawGrid);
  drawGrid();

  // -- state ------------------------------------------------------------------------------------------

  const rsus = new Map(); // rsu_id -> {marker, circle, data}
  const signals = new Map(); // intersection_id -> {marker, key, data}
  const objects = new Map(); // object_id -> {marker, trail, points, data}
  const zones = new Map(); // zone_id -> {layer, key, data}
  let events = [];
  let lastEventId = 0;
  let fitted = false;
  let lastSnapshotAt = 0;

  function decorate(marker, attrs) {
    const el = marker.getElement();
    if (!el) return;
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  }

  // -- RSUs -----------------------------------------------------------------------------------------

  function rsuState(r) {
    if (!r.online) return "offline";
    return r.health === "ok" || r.health === "unspecified" ? "online" : "degraded";
  }

  function rsuIcon(state) {
    // A flag on a short pole whose foot is the RSU's origin, so the intersection's signal glyph
    // at the same spot stays visible.
    return L.divIcon({
      className: `rsu-icon ${state}`,
      html: '<svg width="30" height="34" viewBox="0 0 30 34"><line x1="2" y1="34" x2="2" y2="4" stroke="#1f2937" stroke-width="2"/>' +
        '<rect class="rsu" x="2" y="1" width="26" height="16" rx="3"/><text x="15" y="13" text-anchor="middle">RSU</text></svg>',
      iconSize: [30, 34],
      iconAnchor: [2, 34],
      tooltipAnchor: [14, -28],
      popupAnchor: [14, -30],
    });
  }

  function rsuPopup(r) {
    const sensors = r.sensors.map((s) => `${esc(s.sensor_id)} (${esc(s.kind)}): ${esc(s.health)}${s.reason ? ` (${esc(s.reason)})` : ""}`).join("<br>") || "–";
    return `<h3>RSU ${esc(r.rsu_id)}</h3><table>
      <tr><td>state</td><td>${r.online ? "online" : "offline"}, ${esc(r.health)}</td></tr>
      <tr><td>last seen</td><td>${clock(r.last_seen_ns)}</td></tr>
      <tr><td>coverage</td><td>${r.coverage_radius_m.toFixed(0)} m</td></tr>
      <tr><td>outbox</td><td>${r.outbox_pending} pending</td></tr>
      <tr><td>zones</td><td>${Object.entries(r.zone_versions).map(([z, v]) => `${esc(z)} v${v}`).join(", ") || "–"}</td></tr>
      <tr><td>sensors</td><td>${sensors}</td></tr></table>`;
  }

  function updateRsus(list) {
    const seen = new Set();
    for (const r of list) {
      seen.add(r.rsu_id);
      const ll = [r.latitude_deg, r.longitude_deg];
      const state = rsuState(r);
      let entry = rsus.get(r.rsu_id);
      if (!entry) {
        const circle = L.circle(ll, {
          pane: "coverage", radius: r.coverage_radius_m, color: "#64748b", weight: 1,
          dashArray: "4 4", fillOpacity: 0.03, interactive: false,
        }).addTo(map);
        const marker = L.marker(ll, { pane: "rsus", icon: rsuIcon(state), keyboard: false }).addTo(map);
        marker.bindPopup("");
        marker.bindTooltip("", { direction: "top" });
        entry = { marker, circle, state };
        rsus.set(r.rsu_id, entry);
      } else if (entry.state !== state) {
        entry.marker.setIcon(rsuIcon(state));
        entry.state = state;
      }
      entry.marker.setLatLng(ll);
      entry.circle.setLatLng(ll).setRadius(r.coverage_radius_m);
      entry.marker.setTooltipContent(`RSU ${esc(r.rsu_id)} · ${state}`);
      entry.marker.getPopup().setContent(rsuPopup(r));
      entry.data = r;
      decorate(entry.marker, { "data-rsu-id": r.rsu_id, "data-state": state, title: "" });
    }
    for (const [id, entry] of rsus) {
      if (!seen.has(id)) {
        entry.marker.remove();
        entry.circle.remove();
        rsus.delete(id);
      }
    }
    const items = [...rsus.values()].sort((a, b) => a.data.rsu_id.localeCompare(b.data.rsu_id)).map(({ data: r, state }) => {
      const sensorsOk = r.sensors.filter((s) => s.health === "ok").length;
      return `<li class="clickable" data-rsu="${esc(r.rsu_id)}"><div class="row"><span class="dot ${state}"></span>
        <span class="name">${esc(r.rsu_id)}</span><span class="meta">${state}</span></div>
        <div class="sub">${r.sensors.length ? `${sensorsOk}/${r.sensors.length} sensors ok · ` : ""}seen ${ago(r.last_seen_ns)}${r.outbox_pending ? ` · outbox ${r.outbox_pending}` : ""}</div></li>`;
    });
    setList("rsu-list", items, "none yet");
    const online = [...rsus.values()].filter((e) => e.data.online).length;
    $("stat-rsus").textContent = `${online}/${rsus.size}`;
  }

  // -- intersections and signals ----------------------------------------------------------------------

  function signalSvg(groups) {
    const byApproach = new Map();
    for (const g of groups) if (!byApproach.has(g.approach)) byApproach.set(g.approach, g.colour);
    const entries = [...byApproach.entries()];
    const compass = entries.length > 0 && entries.every(([a]) => a in COMPASS);
    const heads = entries.map(([approach, colour], i) => {
      const [dx, dy] = compass
        ? COMPASS[approach]
        : [Math.cos((2 * Math.PI * i) / entries.length - Math.PI / 2), Math.sin((2 * Math.PI * i) / entries.length - Math.PI / 2)];
      return `<circle cx="${(dx * 11).toFixed(1)}" cy="${(dy * 11).toFixed(1)}" r="5" fill="${SIGNAL_COLOURS[colour] || SIGNAL_COLOURS.unspecified}" stroke="#111827" stroke-width="1.2" data-approach="${esc(approach)}" data-colour="${esc(colour)}"/>`;
    });
    return `<svg width="36" height="36" viewBox="-18 -18 36 36"><rect x="-6" y="-6" width="12" height="12" rx="2" fill="#1f2937"/>${heads.join("")}</svg>`;
  }

  function countdown(ns) {
    if (!ns) return "";
    const s = Math.round(ns / 1e6 - Date.now()) / 1000;
    return s > 0 ? ` ${Math.ceil(s)} s` : "";
  }

  function updateIntersections(list) {
    const seen = new Set();
    for (const i of list) {
      seen.add(i.intersection_id);
      const ll = [i.latitude_deg, i.longitude_deg];
      const key = JSON.stringify(i.signal.map((g) => [g.approach, g.colour]));
      let entry = signals.get(i.intersection_id);
      if (!entry) {
        const marker = L.marker(ll, {
          pane: "signals", keyboard: false,
          icon: L.divIcon({ className: "signal-icon", html: signalSvg(i.signal), iconSize: [36, 36] }),
        }).addTo(map);
        marker.bindTooltip("", { direction: "top", offset: [0, -16] });
        entry = { marker, key };
        signals.set(i.intersection_id, entry);
      } else if (entry.key !== key) {
        entry.marker.getElement().innerHTML = signalSvg(i.signal);
        entry.key = key;
      }
      entry.marker.setLatLng(ll);
      entry.data = i;
      entry.marker.setTooltipContent(
        `<b>${esc(i.intersection_id)}</b> (RSU ${esc(i.rsu_id)})<br>` +
          (i.signal.map((g) => `${esc(g.group_id)}: ${esc(g.colour)}`).join("<br>") || "no signal state"),
      );
      decorate(entry.marker, { "data-intersection-id": i.intersection_id });
    }
    for (const [id, entry] of signals) {
      if (!seen.has(id)) {
        entry.marker.remove();
        signals.delete(id);
      }
    }
    const items = [...signals.values()].map(({ data: i }) => {
      const chips = i.signal
        .map((g) => `<span class="chip sig sig-${esc(g.colour)}" title="${esc(g.group_id)}">${esc(g.approach)} ${esc(g.colour.replace("_", "-"))}${countdown(g.next_change_ns)}</span>`)
        .join("");
      const measures = i.measures
        .filter((m) => m.vehicle_count > 0)
        .map((m) => `${esc(m.approach)}: ${m.vehicle_count} veh, queue ${m.queue_length_m.toFixed(0)} m, ${(m.mean_speed_mps * 3.6).toFixed(0)} km/h`)
        .join(" · ");
      return `<li class="clickable" data-intersection="${esc(i.intersection_id)}"><div class="row"><span class="name">${esc(i.intersection_id)}</span>
        <span class="meta">RSU ${esc(i.rsu_id)}</span></div><div class="chips">${chips || '<span class="chip">no signal state</span>'}</div>
        ${measures ? `<div class="sub">${measures}</div>` : ""}</li>`;
    });
    setList("intersection-list", items, "none yet");
  }

  // -- MAP and SPaT -------------------------------------------------------------------------------------

  // Lanes, stop lines and crosswalks as the RSUs serve them to vehicles; a signal head at each
  // stop line shows its groups' J2735 state and a countdown to the likely change.
  const roads = L.layerGroup([], { pane: "roads" }).addTo(map);
  const heads = new Map(); // "rsu/intersection/lane" -> {marker, groups}
  let spatByGroup = new Map(); // "rsu/intersection/group" -> the group's current movement

  function updateMaps(list) {
    roads.clearLayers();
    for (const { marker } of heads.values()) marker.remove();
    heads.clear();
    for (const m of list) {
      for (const lane of m.lanes) {
        const egress = lane.direction === "egress";
        roads.addLayer(L.polyline(lane.centre_line, {
          pane: "roads", color: egress ? "#9ca3af" : "#6b7280", weight: 7, opacity: 0.75, lineCap: "butt",
          className: "map-lane", interactive: false,
        }));
      }
      for (const w of m.crosswalks) {
        roads.addLayer(L.polyline(w.centre_line, {
          pane: "roads", color: "#f9fafb", weight: 6, dashArray: "2 3", lineCap: "butt",
          className: "map-crosswalk", interactive: false,
        }));
      }
      for (const stop of m.stop_lines) {
        roads.addLayer(L.polyline(stop.line, {
          pane: "roads", color: "#ffffff", weight: 3, className: "map-stop-line", interactive: false,
        }));
        if (!stop.signal_groups.length) continue;
        const [[a0, b0], [a1, b1]] = stop.line;
        const marker = L.marker([(a0 + a1) / 2, (b0 + b1) / 2], {
          pane: "signals", keyboard: false,
          icon: L.divIcon({ className: "signal-head-icon", html: "", iconSize: null }),
        }).addTo(map);
        const key = `${m.rsu_id}/${m.intersection_id}/${stop.lane_id}`;
        heads.set(key, { marker, map: m, groups: stop.signal_groups });
        decorate(marker, { "data-intersection-id": m.intersection_id, "data-lane-id": String(stop.lane_id) });
      }
    }
    drawHeads();
  }

  function remaining(mv) {
    const now = Date.now();
    const s = (ns) => Math.max(0, Math.ceil(ns / 1e6 - now) / 1000);
    if (mv.likely_end_ns != null) return `${Math.ceil(s(mv.likely_end_ns))} s`;
    if (mv.min_end_ns != null && mv.max_end_ns != null) return `${Math.ceil(s(mv.min_end_ns))}–${Math.ceil(s(mv.max_end_ns))} s`;
    return "";
  }

  function drawHeads() {
    for (const { marker, map: m, groups } of heads.values()) {
      const html = groups.map((g) => {
        const mv = spatByGroup.get(`${m.rsu_id}/${m.intersection_id}/${g}`);
        const state = mv ? mv.state : "unavailable";
        const colour = SIGNAL_COLOURS[PHASE_COLOURS[state] || "unspecified"];
        return `<span class="head" data-group="${g}" data-state="${esc(state)}" title="signal group ${g}: ${esc(state.replaceAll("_", " "))}">` +
          `<i style="background:${colour}"></i><b class="countdown">${mv ? esc(remaining(mv)) : ""}</b></span>`;
      }).join("");
      const el = marker.getElement();
      if (el && el.innerHTML !== html) el.innerHTML = html;
    }
  }

  function updateSpat(list) {
    const next = new Map();
    for (const s of list) {
      for (const mv of s.movements) {
        const key = `${s.rsu_id}/${s.intersection_id}/${mv.signal_group}`;
        if (!next.has(key)) next.set(key, mv); // a group's state now comes first
      }
    }
    spatByGroup = next;
    drawHeads();
  }
  setInterval(drawHeads, 1000); // countdowns tick between snapshots

  // -- objects ----------------------------------------------------------------------------------------

  // A vehicle is an arrow along its heading once it has been seen moving; before that a square (a
  // tracker's heading of a standing object is noise). People and animals are dots.
  function objectHtml(o, heading) {
    const colour = CLASS_COLOURS[o.object_class] || CLASS_COLOURS.unknown;
    let shape;
    if (PEOPLE.has(o.object_class)) shape = `<circle r="4.5" fill="${colour}" stroke="#fff" stroke-width="1.5"/>`;
    else if (heading === null) shape = `<rect x="-4.5" y="-4.5" width="9" height="9" rx="2" fill="${colour}" stroke="#fff" stroke-width="1.2"/>`;
    else shape = `<polygon points="8,0 -6,-5.5 -3,0 -6,5.5" fill="${colour}" stroke="#fff" stroke-width="1.2" stroke-linejoin="round"/>`;
    return `<svg width="18" height="18" viewBox="-9 -9 18 18" style="transform: rotate(${-(heading ?? 0)}rad)">${shape}</svg>`;
  }

  function objectTooltip(o) {
    return `<b>${esc(o.object_class)}</b> ${(o.speed_mps * 3.6).toFixed(0)} km/h<br>${esc(o.object_id)}` +
      (o.vehicle_id ? `<br>vehicle ${esc(o.vehicle_id)}` : "") + `<br>seen by ${o.seen_by.map(esc).join(", ")}`;
  }

  const trails = L.layerGroup([], { pane: "trails" }).addTo(map);

  function updateObjects(list) {
    const seen = new Set();
    for (const o of list) {
      seen.add(o.object_id);
      const ll = [o.latitude_deg, o.longitude_deg];
      let entry = objects.get(o.object_id);
      if (!entry || entry.data.object_class !== o.object_class) {
        if (entry) {
          entry.marker.remove();
          entry.trail.remove();
        }
        const heading = o.speed_mps >= MOVING_MPS ? o.heading_rad : null;
        const marker = L.marker(ll, {
          pane: "objects", keyboard: false,
          icon: L.divIcon({ className: `obj obj-${o.object_class}`, html: objectHtml(o, heading), iconSize: [18, 18] }),
        }).addTo(map);
        marker.bindTooltip("", { direction: "top", offset: [0, -8] });
        const colour = CLASS_COLOURS[o.object_class] || CLASS_COLOURS.unknown;
        const trail = L.polyline([ll], { pane: "trails", color: colour, weight: 2, opacity: 0.35, interactive: false });
        trails.addLayer(trail);
        entry = { marker, trail, points: [ll], heading };
        objects.set(o.object_id, entry);
      } else {
        entry.marker.setLatLng(ll);
        // A standing vehicle keeps the heading it last moved with.
        if (o.speed_mps >= MOVING_MPS) {
          const el = entry.marker.getElement();
          if (entry.heading === null) el.innerHTML = objectHtml(o, o.heading_rad);
          else if (el.firstElementChild) el.firstElementChild.style.transform = `rotate(${-o.heading_rad}rad)`;
          entry.heading = o.heading_rad;
        }
        entry.points.push(ll);
        if (entry.points.length > TRAIL_POINTS) entry.points.shift();
        entry.trail.setLatLngs(entry.points);
      }
      entry.data = o;
      entry.marker.setTooltipContent(objectTooltip(o));
      decorate(entry.marker, {
        "data-object-id": o.object_id,
        "data-class": o.object_class,
        "data-lat": o.latitude_deg.toFixed(7),
        "data-lon": o.longitude_deg.toFixed(7),
      });
    }
    for (const [id, entry] of objects) {
      if (!seen.has(id)) {
        entry.marker.remove();
        trails.removeLayer(entry.trail);
        objects.delete(id);
      }
    }
    $("stat-objects").textContent = String(objects.size);
  }

  // -- zones ------------------------------------------------------------------------------------------

  const DAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;

  function ruleChips(rules) {
    const out = [];
    if (rules.closed) out.push(["closed", "closed"]);
    if (rules.speed_limit_mps > 0) out.push([`≤ ${(rules.speed_limit_mps * 3.6).toFixed(0)} km/h`, ""]);
    if (rules.allowed_classes?.length) out.push([`only ${rules.allowed_classes.join(", ")}`, ""]);
    if (rules.allowed_permit_ids?.length) out.push([`${rules.allowed_permit_ids.length} permit${rules.allowed_permit_ids.length > 1 ? "s" : ""}`, ""]);
    if (rules.closed_lanes?.length) out.push([`lanes closed: ${rules.closed_lanes.join(", ")}`, "closed"]);
    if (rules.min_headway_s > 0) out.push([`headway ≥ ${rules.min_headway_s} s`, ""]);
    for (const w of rules.time_windows || []) {
      const days = w.weekdays?.length ? " " + w.weekdays.map((d) => DAYS[d]).join(",") : "";
      out.push([`${hhmm(w.start_minute)}–${hhmm(w.end_minute)} UTC${days}`, ""]);
    }
    return out;
  }

  function zoneStyle(z) {
    return z.rules.closed
      ? { pane: "zones", color: "#dc2626", weight: 2, dashArray: "6 4", fillColor: "#ef4444", fillOpacity: 0.14 }
      : { pane: "zones", color: "#7c3aed", weight: 2, fillColor: "#8b5cf6", fillOpacity: 0.08 };
  }

  function zonePopup(z) {
    const chips = ruleChips(z.rules).map(([t, c]) => `<span class="chip rule ${c}">${esc(t)}</span>`).join("") || "no rules";
    return `<h3>${esc(z.name)}</h3><table><tr><td>zone</td><td>${esc(z.zone_id)} v${z.version}</td></tr>
      <tr><td>updated</td><td>${clock(z.updated_at_ns)}</td></tr>
      <tr><td>rules</td><td><div class="chips">${chips}</div></td></tr></table>`;
  }

  function updateZones(list) {
    const seen = new Set();
    for (const z of list) {
      seen.add(z.zone_id);
      const key = `${z.version}`;
      let entry = zones.get(z.zone_id);
      if (entry && entry.key === key) continue;
      if (entry) entry.layer.remove();
      const ring = z.geometry.coordinates[0].map(([lon, lat]) => [lat, lon]);
      const layer = L.polygon(ring, zoneStyle(z)).addTo(map);
      layer.bindPopup(zonePopup(z));
      const speed = z.rules.speed_limit_mps > 0 ? ` · ${(z.rules.speed_limit_mps * 3.6).toFixed(0)} km/h` : "";
      const bounds = layer.getBounds();
      // The label sits on the zone's northern edge, clear of what is inside it.
      const label = L.tooltip({ permanent: true, direction: "top", className: `zone-label${z.rules.closed ? " closed" : ""}`, pane: "signals" })
        .setLatLng([bounds.getNorth(), bounds.getCenter().lng])
        .setContent(`${esc(z.name)}${z.rules.closed ? " · closed" : speed}`);
      layer.on("add", () => label.addTo(map));
      layer.on("remove", () => label.remove());
      label.addTo(map);
      const path = layer.getElement();
      if (path) {
        path.setAttribute("data-zone-id", z.zone_id);
        path.classList.add("zone");
      }
      zones.set(z.zone_id, { layer, key, data: z });
      if (!fitted) fitMap();
    }
    for (const [id, entry] of zones) {
      if (!seen.has(id)) {
        entry.layer.remove();
        zones.delete(id);
      }
    }
    const items = [...zones.values()].sort((a, b) => a.data.name.localeCompare(b.data.name)).map(({ data: z }) => {
      const chips = ruleChips(z.rules).map(([t, c]) => `<span class="chip rule ${c}">${esc(t)}</span>`).join("");
      return `<li class="clickable" data-zone="${esc(z.zone_id)}"><div class="row"><span class="name">${esc(z.name)}</span>
        <span class="meta">${esc(z.zone_id)} v${z.version}</span></div><div class="chips">${chips || '<span class="chip">no rules</span>'}</div></li>`;
    });
    setList("zone-list", items, "none");
    $("stat-zones").textContent = String(zones.size);
  }

  // -- events -----------------------------------------------------------------------------------------

  function eventHtml(e, fresh) {
    const parts = [];
    if (e.zone_id) parts.push(`zone ${esc(e.zone_id)}`);
    if (e.vehicle_id) parts.push(`vehicle ${esc(e.vehicle_id)}`);
    else if (e.track_id) parts.push(`track ${e.track_id}`);
    if (e.kind === "zone_speeding" && e.value) parts.push(`${(e.value * 3.6).toFixed(0)} km/h`);
    if (e.detail) parts.push(esc(e.detail));
    return `<li class="clickable${fresh ? " new" : ""}" data-event="${e.id}"><div><time>${clock(e.occurred_at_ns)}</time>
      <span class="kind ${esc(e.kind)}">${esc(EVENT_LABELS[e.kind] || e.kind)}</span><span class="meta"> · RSU ${esc(e.rsu_id)}</span></div>
      ${parts.length ? `<div class="sub">${parts.join(" · ")}</div>` : ""}</li>`;
  }

  // One load at a time. An event announced while a load is under way may have been stored after
  // that load read the API, so the load goes round once more before it ends (never dropped).
  let loadingEvents = null;
  let eventsAgain = false;
  async function fetchNewEvents(initial) {
    const since = initial ? `&since_ns=${(Date.now() - 24 * 3600 * 1000) * 1e6}` : "";
    const fresh = [];
    for (let pages = 0; pages < 20; pages++) {
      const page = await api(`/api/v1/events?limit=1000&after_id=${lastEventId}${since}`);
      fresh.push(...page.events);
      lastEventId = page.next_after_id;
      if (page.events.length < 1000) break;
    }
    if (fresh.length) {
      events = events.concat(fresh).slice(-MAX_EVENTS);
      const ids = new Set(fresh.map((e) => e.id));
      setList("event-list", events.slice().reverse().map((e) => eventHtml(e, !initial && ids.has(e.id))), "none");
    }
    $("stat-events").textContent = String(events.length);
  }
  async function loadEvents(initial) {
    if (loadingEvents) {
      eventsAgain = true;
      return loadingEvents;
    }
    loadingEvents = (async () => {
      let first = initial;
      do {
        eventsAgain = false;
        await fetchNewEvents(first);
        first = false;
      } while (eventsAgain);
    })().finally(() => {
      loadingEvents = null;
    });
    return loadingEvents;
  }

  let mark = null;
  function showEvent(e) {
    const zone = zones.get(e.zone_id);
    const rsu = rsus.get(e.rsu_id);
    if (mark) mark.remove();
    if (rsu && (e.x_m || e.y_m)) {
      const lat0 = rsu.data.latitude_deg;
      const ll = [lat0 + e.y_m / M_PER_DEG_LAT, rsu.data.longitude_deg + e.x_m / (M_PER_DEG_LAT * Math.cos((lat0 * Math.PI) / 180))];
      mark = L.circleMarker(ll, { pane: "signals", radius: 14, color: "#f59e0b", weight: 3, fill: false }).addTo(map);
      map.panTo(ll);
      setTimeout(() => mark && mark.remove(), 6000);
    } else if (zone) {
      map.fitBounds(zone.layer.getBounds(), { maxZoom: 19, padding: [40, 40] });
    }
    if (zone) zone.layer.openPopup();
  }

  // -- panel helpers ------------------------------------------------------------------------------------

  function setList(id, items, empty) {
    $(id).innerHTML = items.length ? items.join("") : `<li class="empty">${empty}</li>`;
  }

  function clock(ns) {
    if (!ns) return "–";
    return new Date(ns / 1e6).toLocaleTimeString([], { hour12: false });
  }

  function ago(ns) {
    if (!ns) return "never";
    const s = Math.max(0, Date.now() - ns / 1e6) / 1000;
    return s < 60 ? `${s.toFixed(0)} s ago` : s < 3600 ? `${(s / 60).toFixed(0)} min ago` : clock(ns);
  }

  $("rsu-list").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-rsu]");
    const entry = li && rsus.get(li.dataset.rsu);
    if (entry) {
      map.fitBounds(entry.circle.getBounds(), { maxZoom: 19 });
      entry.marker.openPopup();
    }
  });
  $("intersection-list").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-intersection]");
    const entry = li && signals.get(li.dataset.intersection);
    if (entry) map.setView(entry.marker.getLatLng(), Math.max(map.getZoom(), 18));
  });
  $("zone-list").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-zone]");
    const entry = li && zones.get(li.dataset.zone);
    if (entry) {
      map.fitBounds(entry.layer.getBounds(), { maxZoom: 19, padding: [40, 40] });
      entry.layer.openPopup();
    }
  });
  $("event-list").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-event]");
    const found = li && events.find((x) => String(x.id) === li.dataset.event);
    if (found) showEvent(found);
  });

  function fitMap() {
    let bounds = null;
    const extend = (b) => (bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast()));
    for (const e of rsus.values()) extend(e.circle.getBounds());
    for (const e of zones.values()) extend(e.layer.getBounds());
    if (!bounds && objects.size) for (const e of objects.values()) extend(L.latLngBounds([e.marker.getLatLng()]).pad(0.001));
    if (bounds) {
      map.fitBounds(bounds, { maxZoom: 19, padding: [20, 20], animate: false });
      fitted = true;
    }
  }
  $("fit").addEventListener("click", fitMap);

  // -- legend -------------------------------------------------------------------------------------------

  $("legend").innerHTML =
    ["car", "van", "truck", "bus", "motorcycle", "bicycle", "pedestrian", "unknown"]
      .map((c) => `<span class="item"><span class="sw" style="background:${CLASS_COLOURS[c]}"></span>${c}</span>`)
      .join("") +
    `<span class="item"><span class="sw" style="background:#16a34a;border-radius:2px"></span>RSU online</span>` +
    `<span class="item"><span class="sw" style="background:#dc2626;border-radius:2px"></span>RSU offline</span>`;

  // -- live feed ----------------------------------------------------------------------------------------

  function setLink(state, text) {
    const el = $("link");
    el.className = `link ${state}`;
    el.textContent = text;
  }

  function applySnapshot(s) {
    lastSnapshotAt = Date.now();
    updateRsus(s.rsus);
    updateIntersections(s.intersections);
    updateSpat(s.spat || []);
    updateZones(s.zones);
    updateObjects(s.objects);
    if (!fitted) fitMap();
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
  }

  let source = null;
  async function start() {
    if (!token) {
      askForToken("A viewer token is needed (the cloud service prints one at start).");
      return;
    }
    try {
      const who = await api("/api/v1/whoami");
      $("who").textContent = `${who.name} (${who.role})`;
      await loadEvents(true);
    } catch (err) {
      if (err instanceof Unauthorised) {
        askForToken("That token was not accepted. Paste a valid viewer token.");
        return;
      }
      setLink("down", "API unreachable");
      setTimeout(start, 3000);
      return;
    }
    if (source) source.close();
    // An EventSource cannot send the bearer token: it gets a feed token that lives a minute, and a
    // fresh one at every reconnection.
    let feed;
    try {
      feed = await api("/api/v1/feed-token", "POST");
    } catch (err) {
      setLink("down", "API unreachable");
      setTimeout(start, 3000);
      return;
    }
    source = new EventSource(`/api/v1/feed?feed_token=${encodeURIComponent(feed.feed_token)}`);
    source.onopen = () => setLink("live", "live");
    source.onerror = () => {
      setLink("connecting", "reconnecting…");
      source.close();
      source = null;
      setTimeout(start, 1000);
    };
    source.addEventListener("snapshot", (e) => applySnapshot(JSON.parse(e.data)));
    source.addEventListener("zone", () => api("/api/v1/zones").then(updateZones).catch(() => {}));
    const loadMaps = () => api("/api/v1/maps").then(updateMaps).catch((err) => console.warn("maps:", err));
    source.addEventListener("map", loadMaps);
    source.addEventListener("rsu", loadMaps); // a map is drawn once its RSU's origin is known
    loadMaps();
    source.addEventListener("event", () => loadEvents(false).catch(() => {}));
  }

  setInterval(() => {
    if (source && source.readyState === EventSource.OPEN && lastSnapshotAt && Date.now() - lastSnapshotAt > 5000) {
      setLink("connecting", "stale");
    } else if (source && source.readyState === EventSource.OPEN && lastSnapshotAt) {
      setLink("live", "live");
    }
  }, 1000);

  window.vicoopDashboard = { map, rsus, signals, objects, zones, heads, fitMap };
  start();
})();
