// rokka dashboard: a vanilla JavaScript module, no build step. The API is the page's own origin
// (the page is served at {api}/dashboard); renders go to config.json's render_base.
const API = location.pathname.replace(/\/dashboard\/?$/, "");
const main = document.getElementById("main");
let session = JSON.parse(sessionStorage.getItem("rokka") || "null");
let config = { render_base: "/render/{org}" };
let catalogue = null;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

class ApiError extends Error {
  constructor(status, body) {
    // rokka's {"error": {"code", "message"}}; authentication failures send {"code", "message"}
    super((body && ((body.error && body.error.message) || body.message)) || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(method, path, body, key = session && session.key) {
  const headers = { "Api-Version": "1", Accept: "application/json" };
  if (key) headers["Api-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

const org = () => encodeURIComponent(session.org);
const renderBase = () => config.render_base.replace("{org}", session.org);
export const thumbUrl = (hash, size = 200) => `${renderBase()}/dynamic/resize-width-${size}-height-${size}/${hash}.jpg`;

function dynamicPath(ops) {
  const parts = ops.map((op) => [op.name, ...Object.entries(op.options).map(([k, v]) => `${k}-${v}`)].join("-"));
  return "dynamic/" + (parts.join("--") || "noop");
}

// --- sign in ----------------------------------------------------------------------------------

function signInView() {
  const error = h("p", { class: "error", id: "signin-error", role: "alert" });
  const form = h("form", { class: "card", id: "signin", onsubmit: async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const o = form.org.value.trim(), key = form.key.value.trim();
    try {
      await api("GET", `/organizations/${encodeURIComponent(o)}`, undefined, key);
      session = { org: o, key };
      sessionStorage.setItem("rokka", JSON.stringify(session));
      location.hash = "#/images";
      route();
    } catch (err) {
      error.textContent = `Sign-in failed: ${err.message}`;
    }
  } },
  h("h2", {}, "Sign in"),
  h("label", {}, "Organization ", h("input", { name: "org", required: true, autocomplete: "username" })),
  h("label", {}, "API key ", h("input", { name: "key", type: "password", required: true, autocomplete: "current-password" })),
  h("button", { type: "submit" }, "Sign in"), error);
  return form;
}

// --- images: grid, search, upload -------------------------------------------------------------

async function imagesView() {
  const grid = h("div", { class: "grid", id: "grid" });
  const status = h("p", { id: "grid-status" });
  const search = h("input", { id: "search", type: "search", placeholder: "name prefix, or field=value" });
  async function load() {
    const q = search.value.trim();
    const params = new URLSearchParams({ limit: "100" });
    if (q.includes("=")) { const [k, ...v] = q.split("="); params.set(k.trim(), v.join("=").trim()); }
    else if (q) params.set("name", q.endsWith("*") ? q : q + "*");
    try {
      const page = await api("GET", `/sourceimages/${org()}?${params}`);
      grid.replaceChildren(...page.items.map((img) => h("a", { href: `#/image/${img.hash}`, "data-hash": img.hash },
        h("img", { src: thumbUrl(img.hash), alt: img.name, loading: "lazy" }), img.name)));
      status.textContent = `${page.total} image(s)`;
      status.className = "";
    } catch (err) { status.textContent = err.message; status.className = "error"; }
  }
  const progress = h("progress", { id: "upload-progress", max: 100, value: 0, hidden: true });
  const uploadStatus = h("p", { id: "upload-status" });
  const input = h("input", { type: "file", id: "file-input", multiple: true, accept: "image/*",
    onchange: () => upload([...input.files]) });
  const drop = h("div", { id: "dropzone",
    ondragover: (ev) => { ev.preventDefault(); drop.classList.add("over"); },
    ondragleave: () => drop.classList.remove("over"),
    ondrop: (ev) => { ev.preventDefault(); drop.classList.remove("over"); upload([...ev.dataTransfer.files]); } },
  "Drop images here or ", input, progress, uploadStatus);
  function upload(files) {
    if (!files.length) return;
    const form = new FormData();
    files.forEach((f) => form.append("filedata", f, f.name));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${API}/sourceimages/${org()}`);
    xhr.setRequestHeader("Api-Key", session.key);
    xhr.setRequestHeader("Api-Version", "1");
    progress.hidden = false;
    progress.value = 0;
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) progress.value = Math.round((100 * ev.loaded) / ev.total); };
    xhr.onload = () => {
      progress.value = 100;
      if (xhr.status >= 400) {
        uploadStatus.className = "error";
        try { uploadStatus.textContent = JSON.parse(xhr.responseText).error.message; } catch { uploadStatus.textContent = `HTTP ${xhr.status}`; }
      } else {
        uploadStatus.className = "";
        uploadStatus.textContent = `Uploaded ${JSON.parse(xhr.responseText).items.length} image(s)`;
        load();
      }
    };
    xhr.onerror = () => { uploadStatus.className = "error"; uploadStatus.textContent = "Upload failed"; };
    xhr.send(form);
  }
  const searchForm = h("form", { onsubmit: (ev) => { ev.preventDefault(); load(); } }, search, h("button", {}, "Search"));
  await load();
  return h("section", {}, h("div", { class: "card" }, searchForm), drop, status, grid);
}

// --- one image: metadata, subject area, renders by stack --------------------------------------

async function imageView(hash) {
  const img = await api("GET", `/sourceimages/${org()}/${hash}`);
  const stacks = (await api("GET", `/stacks/${org()}`)).items || [];
  const shown = Math.min(600, img.width);
  const scale = img.width / shown;
  const picture = h("img", { src: `${renderBase()}/dynamic/resize-width-${shown}/${img.hash}.png`, id: "picker-image",
    draggable: "false", alt: img.name });
  const area = h("div", { class: "area", hidden: true });
  const picker = h("div", { class: "picker", id: "picker" }, picture, area);
  const note = h("p", { id: "subject-status" });
  const sa = img.dynamic_metadata && img.dynamic_metadata.subject_area;
  function draw(x, y, w, hgt) {
    Object.assign(area.style, { left: `${x / scale}px`, top: `${y / scale}px`, width: `${w / scale}px`, height: `${hgt / scale}px` });
    area.hidden = false;
  }
  if (sa) draw(sa.x, sa.y, sa.width || 1, sa.height || 1);
  let start = null;
  const at = (ev) => { const r = picture.getBoundingClientRect();
    return [Math.max(0, Math.min(r.width, ev.clientX - r.left)), Math.max(0, Math.min(r.height, ev.clientY - r.top))]; };
  picker.addEventListener("mousedown", (ev) => { start = at(ev); draw(start[0] * scale, start[1] * scale, 1, 1); });
  picker.addEventListener("mousemove", (ev) => {
    if (!start) return;
    const [x, y] = at(ev);
    draw(Math.min(x, start[0]) * scale, Math.min(y, start[1]) * scale, Math.abs(x - start[0]) * scale, Math.abs(y - start[1]) * scale);
  });
  window.onmouseup = async (ev) => {
    if (!start) return;
    const [x, y] = at(ev);
    const box = { x: Math.round(Math.min(x, start[0]) * scale), y: Math.round(Math.min(y, start[1]) * scale),
      width: Math.max(1, Math.round(Math.abs(x - start[0]) * scale)), height: Math.max(1, Math.round(Math.abs(y - start[1]) * scale)) };
    start = null;
    try {
      const moved = await api("PUT", `/sourceimages/${org()}/${img.hash}/meta/dynamic/subject_area?deletePrevious=true`, box);
      note.className = "";
      note.textContent = `Subject area saved: ${box.x},${box.y} ${box.width}×${box.height}`;
      if (moved && moved.hash !== img.hash) location.hash = `#/image/${moved.hash}`;
    } catch (err) { note.className = "error"; note.textContent = err.message; }
  };
  const renders = h("div", { class: "renders", id: "renders" }, stacks.map((s) => h("figure", {},
    h("img", { src: `${renderBase()}/${s.name}/${img.hash}.jpg`, alt: s.name, loading: "lazy" }), h("figcaption", {}, s.name))));
  return h("section", {}, h("h2", {}, img.name),
    h("div", { class: "editor" }, h("div", {}, h("p", {}, "Drag on the image to set the subject area."), picker, note),
      h("div", {}, h("h3", {}, "Metadata"), h("pre", { id: "metadata" }, JSON.stringify(img, null, 2)))),
    h("h3", {}, "Renders by stack"), stacks.length ? renders : h("p", {}, "No stacks yet."));
}

// --- stacks: list, editor with the operation catalogue, live preview --------------------------

async function stacksView(name) {
  catalogue = catalogue || await api("GET", "/operations");
  const stacks = (await api("GET", `/stacks/${org()}`)).items || [];
  const images = (await api("GET", `/sourceimages/${org()}?limit=50`)).items || [];
  const existing = stacks.find((s) => s.name === name);
  let ops = existing ? existing.stack_operations.map((o) => ({ name: o.name, options: { ...o.options } })) : [];
  const list = h("ul", { class: "ops", id: "ops" });
  const errors = h("p", { class: "error", id: "stack-error", role: "alert" });
  const preview = h("img", { id: "preview", alt: "preview" });
  const imageSelect = h("select", { id: "preview-image", onchange: () => refresh() },
    images.map((i) => h("option", { value: i.hash }, i.name)));
  const nameInput = h("input", { id: "stack-name", value: name || "", required: true, placeholder: "stack name" });
  function refresh() {
    list.replaceChildren(...ops.map((op, i) => {
      const props = (catalogue[op.name] && catalogue[op.name].properties) || {};
      const fields = Object.entries(props).map(([k, spec]) => {
        const input = spec.values
          ? h("select", { name: k }, h("option", { value: "" }, "—"), spec.values.map((v) => h("option", { value: v, selected: String(op.options[k]) === String(v) }, v)))
          : h("input", { name: k, value: op.options[k] ?? "", placeholder: String(spec.default ?? spec.type ?? ""), title: spec.description || "" });
        input.addEventListener("change", () => { if (input.value === "") delete op.options[k]; else op.options[k] = input.value; refresh(); });
        return h("label", {}, `${k} `, input);
      });
      return h("li", { "data-op": op.name }, h("strong", {}, op.name), " ",
        h("button", { type: "button", onclick: () => { ops.splice(i, 1); refresh(); } }, "remove"), h("div", { class: "opts" }, fields));
    }));
    const hash = imageSelect.value;
    if (hash) preview.src = `${renderBase()}/${dynamicPath(ops)}/${hash}.png`;
  }
  preview.addEventListener("error", () => { errors.textContent = "The preview could not be rendered; check the options."; });
  preview.addEventListener("load", () => { if (errors.dataset.source !== "save") errors.textContent = ""; });
  const adder = h("select", { id: "add-op" }, h("option", { value: "" }, "add operation…"),
    Object.keys(catalogue).map((n) => h("option", { value: n }, n)));
  adder.addEventListener("change", () => { if (adder.value) ops.push({ name: adder.value, options: {} }); adder.value = ""; refresh(); });
  const save = h("button", { type: "button", id: "save-stack", onclick: async () => {
    errors.textContent = ""; errors.dataset.source = "save";
    try {
      await api("PUT", `/stacks/${org()}/${encodeURIComponent(nameInput.value.trim())}?overwrite=true`, { operations: ops });
      location.hash = `#/stacks/${encodeURIComponent(nameInput.value.trim())}`;
      errors.dataset.source = "";
      route();
    } catch (err) { errors.textContent = err.message; }
  } }, "Save stack");
  refresh();
  const links = stacks.map((s) => h("li", {}, h("a", { href: `#/stacks/${encodeURIComponent(s.name)}` }, s.name)));
  return h("section", { class: "editor" },
    h("div", { class: "card" }, h("h2", {}, "Stacks"), h("ul", { id: "stack-list" }, links), h("a", { href: "#/stacks" }, "+ new stack")),
    h("div", { class: "card" }, h("h2", {}, existing ? `Edit ${name}` : "New stack"), nameInput, list, adder, " ", save, errors),
    h("div", { class: "card" }, h("h2", {}, "Preview"), imageSelect, preview));
}

// --- routing ----------------------------------------------------------------------------------

async function route() {
  document.getElementById("nav").hidden = !session;
  if (!session) { main.replaceChildren(signInView()); return; }
  document.getElementById("whoami").textContent = session.org;
  const [, view, arg] = location.hash.split("/");
  try {
    if (view === "image" && arg) main.replaceChildren(await imageView(arg));
    else if (view === "stacks") main.replaceChildren(await stacksView(arg && decodeURIComponent(arg)));
    else main.replaceChildren(await imagesView());
  } catch (err) {
    if (err.status === 403 || err.status === 401) { session = null; sessionStorage.removeItem("rokka"); return route(); }
    main.replaceChildren(h("p", { class: "error" }, err.message));
  }
}

document.getElementById("signout").addEventListener("click", () => { sessionStorage.removeItem("rokka"); session = null; route(); });
window.addEventListener("hashchange", route);
fetch("dashboard/config.json").then((r) => r.json()).then((c) => { config = c; }).catch(() => {}).finally(route);
