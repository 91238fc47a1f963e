/// `GET /docs`: the project's own interactive page, plain HTML and script in
/// the binary (nothing fetched from elsewhere). It reads `/openapi.json`,
/// shows one form per operation, sends the call with `fetch` and shows the
/// status and body. The API key, when the server has one, is typed once and
/// kept in the tab's sessionStorage only. Its Changes panel reads the
/// conversation's `events` stream (with `fetch`, so that the key header
/// goes too) and shows what gitChanges answers and what files changed, live.
enum DocsPage {
  /// Where the page is served: FastAPI's `/docs`, and `/swagger-ui/` (with
  /// or without its slash), which the seed's API reference links.
  static let paths: Set<String> = ["/docs", "/swagger-ui", "/swagger-ui/"]

  static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>AgentBridge API</title>
    <style>
      :root { --fg: #1d232a; --muted: #5c6670; --line: #d8dde2; --bg: #f6f8fa; --get: #1f6feb; --post: #1a7f37; --bad: #cf222e; }
      * { box-sizing: border-box; }
      body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fff; }
      header { padding: 18px 28px; border-bottom: 1px solid var(--line); background: var(--bg); }
      header h1 { margin: 0 0 4px; font-size: 21px; }
      header p { margin: 0; color: var(--muted); }
      main { max-width: 1000px; margin: 0 auto; padding: 18px 28px 60px; }
      .settings { display: flex; gap: 16px; flex-wrap: wrap; margin-bottom: 18px; align-items: end; }
      label { display: block; font-size: 13px; color: var(--muted); }
      input[type=text], input[type=password], textarea { font: 14px ui-monospace, SFMono-Regular, Menlo, monospace; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; width: 100%; }
      .settings label { min-width: 280px; flex: 1; }
      h2 { font-size: 16px; margin: 26px 0 8px; text-transform: capitalize; }
      details { border: 1px solid var(--line); border-radius: 8px; margin: 8px 0; background: #fff; }
      summary { cursor: pointer; padding: 9px 12px; display: flex; gap: 12px; align-items: baseline; }
      summary .path { font-family: ui-monospace, Menlo, monospace; font-weight: 600; }
      summary .sum { color: var(--muted); font-size: 14px; }
      .verb { font: 600 12px ui-monospace, monospace; color: #fff; border-radius: 4px; padding: 2px 7px; min-width: 46px; text-align: center; }
      .verb.get { background: var(--get); } .verb.post { background: var(--post); }
      .op { padding: 4px 14px 14px; border-top: 1px solid var(--line); }
      .field { margin: 8px 0; }
      .field .req { color: var(--bad); }
      .field .hint { color: var(--muted); font-size: 12px; }
      button { font: inherit; padding: 6px 16px; border-radius: 6px; border: 1px solid #1a7f37; background: #2da44e; color: #fff; cursor: pointer; }
      button.secondary { background: #fff; color: var(--fg); border-color: var(--line); }
      .actions { display: flex; gap: 10px; align-items: center; margin-top: 10px; }
      .status { font-family: ui-monospace, monospace; font-weight: 600; }
      .status.ok { color: var(--post); } .status.err { color: var(--bad); }
      pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto; max-height: 420px; white-space: pre-wrap; word-break: break-word; }
      pre:empty { display: none; }
      .curl { font-size: 12px; color: var(--muted); }
      #load-error { color: var(--bad); }
    </style>
    </head>
    <body>
    <header>
      <h1>AgentBridge API</h1>
      <p id="subtitle">The OpenHands workspace API, answered by the same dispatcher as the JSON-RPC methods.</p>
    </header>
    <main>
      <div class="settings">
        <label>Conversation id <input type="text" id="conversation" placeholder="filled from listConversations"></label>
        <label>API key (X-Session-API-Key, if the server has one) <input type="password" id="apikey" autocomplete="off"></label>
        <button class="secondary" id="find">Find conversations</button>
      </div>
      <section id="changes-panel">
        <h2>Changes</h2>
        <div class="actions"><button class="secondary" id="watch">Watch</button><span class="status" id="watch-status"></span></div>
        <pre id="git-changes"></pre>
        <pre id="file-changes"></pre>
      </section>
      <div id="load-error"></div>
      <div id="operations">Loading /openapi.json…</div>
    </main>
    <script>
    "use strict";
    const $ = (sel, root = document) => root.querySelector(sel);
    const el = (tag, attrs = {}, ...children) => {
      const node = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs)) {
        if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
      }
      for (const c of children) node.append(c);
      return node;
    };
    const keyInput = $("#apikey"), convInput = $("#conversation");
    keyInput.value = sessionStorage.getItem("agent-bridge-key") || "";
    keyInput.addEventListener("input", () => sessionStorage.setItem("agent-bridge-key", keyInput.value));
    const headers = () => keyInput.value ? { "X-Session-API-Key": keyInput.value } : {};

    async function findConversations() {
      try {
        const r = await fetch("/api/jsonrpc", { method: "POST", headers: { ...headers(), "Content-Type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "listConversations" }) });
        if (r.status === 401) { convInput.placeholder = "enter the API key, then Find conversations"; return; }
        const reply = await r.json();
        if (reply.result && reply.result.length && !convInput.value) convInput.value = reply.result[0].conversationId;
      } catch (e) { /* the field stays editable */ }
    }
    $("#find").addEventListener("click", async () => { convInput.value = ""; await findConversations(); watch(); });

    // The Changes panel: GET .../events, Server-Sent Events read from the
    // body as it comes (EventSource cannot send the key header).
    let watching = null;
    const recent = [];
    async function watch() {
      if (watching) watching.abort();
      const id = convInput.value.trim();
      if (!id) return;
      const controller = new AbortController();
      watching = controller;
      const status = $("#watch-status");
      status.className = "status"; status.textContent = "connecting…";
      try {
        const r = await fetch(`/api/conversations/${encodeURIComponent(id)}/events`, { headers: headers(), signal: controller.signal });
        if (!r.ok) { status.className = "status err"; status.textContent = `${r.status} ${r.statusText}`; return; }
        status.className = "status ok"; status.textContent = "live";
        const reader = r.body.getReader(), decoder = new TextDecoder();
        let buffer = "";
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = "", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event: ")) event = line.slice(7); else if (line.startsWith("data: ")) data += line.slice(6);
            }
            if (!event || !data) continue;  // a heartbeat
            const params = JSON.parse(data);
            if (event === "gitChanged") {
              $("#git-changes").textContent = params.changes.length
                ? params.changes.map(c => `${c.status} ${c.path}`).join("\n") : "git: no changes";
            } else if (event === "filesChanged") {
              const time = new Date().toLocaleTimeString();
              for (const c of params.changes) recent.unshift(`${time} ${c.type} ${c.path || "(the workspace)"}`);
              recent.length = Math.min(recent.length, 50);
              $("#file-changes").textContent = recent.join("\n");
            }
          }
        }
        status.className = "status"; status.textContent = "ended";
      } catch (error) {
        if (controller.signal.aborted) return;
        status.className = "status err"; status.textContent = "disconnected";
      }
    }
    $("#watch").addEventListener("click", () => watch());

    function resolveRef(doc, schema) {
      if (schema && schema.$ref) return schema.$ref.split("/").slice(1).reduce((o, k) => o[k], doc);
      return schema || {};
    }

    function skeleton(schema) {
      const out = {};
      for (const name of schema.required || []) {
        const p = (schema.properties || {})[name] || {};
        out[name] = p.enum ? p.enum[0] : p.type === "boolean" ? false : p.type === "array" ? [] : "";
      }
      return JSON.stringify(out, null, 2);
    }

    function renderOperation(doc, path, verb, op) {
      const body = el("div", { class: "op" });
      if (op.description) body.append(el("p", { class: "hint", text: op.description }));
      const inputs = [];
      for (const p of op.parameters || []) {
        if (p.in === "path") continue;  // filled from the conversation field
        const schema = p.schema || {};
        const input = schema.type === "boolean"
          ? el("input", { type: "checkbox" })
          : el("input", { type: "text", placeholder: schema.type === "array" ? "comma-separated" : (schema.type || "") });
        input.dataset.name = p.name; input.dataset.kind = schema.type || "string";
        inputs.push(input);
        const label = el("label", {}, `${p.name} `);
        if (p.required) label.append(el("span", { class: "req", text: "*" }));
        if (p.description) label.append(el("span", { class: "hint", text: ` ${p.description}` }));
        body.append(el("div", { class: "field" }, label, input));
      }
      let textarea = null;
      if (op.requestBody) {
        const media = op.requestBody.content["application/json"];
        textarea = el("textarea", { rows: "6", class: "json-body" });
        textarea.value = media.example ? JSON.stringify(media.example, null, 2) : skeleton(resolveRef(doc, media.schema));
        body.append(el("div", { class: "field" }, el("label", { text: "JSON body" }), textarea));
      }
      const send = el("button", { class: "send", text: "Send" });
      const status = el("span", { class: "status" });
      const result = el("pre", { class: "body" });
      const curl = el("div", { class: "curl" });
      body.append(el("div", { class: "actions" }, send, status), curl, result);

      send.addEventListener("click", async () => {
        let url = path.replace("{conversation_id}", encodeURIComponent(convInput.value.trim()));
        const query = new URLSearchParams();
        for (const input of inputs) {
          if (input.type === "checkbox") { if (input.checked) query.append(input.dataset.name, "true"); continue; }
          const value = input.value;
          if (value === "") continue;
          if (input.dataset.kind === "array") value.split(",").forEach(v => query.append(input.dataset.name, v.trim()));
          else query.append(input.dataset.name, value);
        }
        if ([...query].length) url += "?" + query.toString();
        const init = { method: verb.toUpperCase(), headers: headers() };
        if (textarea) { init.body = textarea.value; init.headers["Content-Type"] = "application/json"; }
        curl.textContent = `curl -X ${init.method} '${location.origin}${url}'` +
          (keyInput.value ? " -H 'X-Session-API-Key: …'" : "") + (textarea ? ` -H 'Content-Type: application/json' -d '${textarea.value.replace(/\s+/g, " ")}'` : "");
        status.className = "status"; status.textContent = "…"; result.textContent = "";
        const started = performance.now();
        try {
          const response = await fetch(url, init);
          const type = response.headers.get("Content-Type") || "";
          const ms = Math.round(performance.now() - started);
          status.textContent = `${response.status} ${response.statusText} · ${ms} ms`;
          status.className = "status " + (response.ok ? "ok" : "err");
          if (type.includes("application/json")) {
            const text = await response.text();
            try { result.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch { result.textContent = text; }
          } else if (type.includes("text/")) {
            result.textContent = await response.text();
          } else {
            const blob = await response.blob();
            const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
            result.textContent = `${blob.size} bytes of ${type || "data"} `;
            const link = el("a", { href: URL.createObjectURL(blob), download: name ? name[1] : "download", text: "save" });
            result.append(link);
          }
        } catch (error) {
          status.className = "status err"; status.textContent = "request failed"; result.textContent = String(error);
        }
      });

      const summary = el("summary", {}, el("span", { class: "verb " + verb, text: verb.toUpperCase() }),
        el("span", { class: "path", text: path }), el("span", { class: "sum", text: op.summary || "" }));
      return el("details", { id: "op-" + op.operationId }, summary, body);
    }

    async function load() {
      let doc;
      try {
        const r = await fetch("/openapi.json");
        doc = await r.json();
      } catch (error) { $("#load-error").textContent = "Could not load /openapi.json: " + error; return; }
      $("#subtitle").textContent = `${doc.info.title} ${doc.info.version}: ${doc.info.description}`;
      const groups = {};
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [verb, op] of Object.entries(item)) {
          if (op.operationId === "events") continue;  // the Changes panel reads it
          const tag = (op.tags || ["other"])[0];
          (groups[tag] = groups[tag] || []).push(renderOperation(doc, path, verb, op));
        }
      }
      const container = $("#operations");
      container.textContent = "";
      for (const tag of Object.keys(groups).sort().reverse()) {
        container.append(el("h2", { text: tag }), ...groups[tag]);
      }
      document.body.dataset.ready = "true";
      await findConversations();
      watch();
    }
    load();
    </script>
    </body>
    </html>
    """#
}
