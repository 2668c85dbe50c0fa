// The team server's page: sign in, start runs, watch one live (a lane per role, the stage timeline,
// the token and cost meter), read its documents with their Mermaid diagrams drawn, browse its code
// and test report, answer its review gates, download files, and replay a finished run.
// Everything a model wrote is shown as text, or as Markdown cleaned by DOMPurify.
import { conversation, scenarioForm } from "./conversation.js";
import { api, app, h, hooks, markdown, money, session, waitingAt } from "./dom.js";

let closeView = () => {};
hooks.signIn = () => showSignIn();

// --- sign in ---------------------------------------------------------------------------------------
function showSignIn(message = "") {
  closeView();
  const token = h("input", { type: "password", name: "token", placeholder: "agentco_…", autocomplete: "off" });
  const error = h("p", { class: "error" }, message);
  const form = h("form", { id: "sign-in", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const signed = await api("POST", "/api/session", { token: token.value.trim() });
      Object.assign(session, signed, { via: "session" });
      route();
    } catch (failure) {
      error.textContent = failure.status === 401 ? "That token is wrong or revoked." : failure.message;
    }
  } }, h("label", {}, "API token ", token), h("button", { type: "submit" }, "Sign in"), error);
  app.replaceChildren(h("h2", {}, "Sign in"), form,
    h("p", { class: "hint" }, "Create a token with: agentco tokens create NAME --scope run"));
}

// --- runs list and new run -------------------------------------------------------------------------
async function showRuns() {
  const runs = await api("GET", "/api/runs");
  const rows = runs.map((run) => h("tr", {},
    h("td", {}, h("a", { href: `#/runs/${run.id}` }, run.id)),
    h("td", { class: `status ${run.status}` }, run.status + (run.waiting_for_review ? " (review)" : "")),
    h("td", {}, run.stage), h("td", { class: "idea" }, run.idea), h("td", {}, money(run.cost_usd)),
    h("td", {}, `${Math.round(run.wall_s)} s`)));
  const kind = h("select", { name: "kind" }, h("option", { value: "company" }, "Build a project"),
    h("option", { value: "di" }, "Answer a question about data"), h("option", { value: "scenario" }, "Hold a conversation"));
  const idea = h("textarea", { name: "idea", rows: 2, placeholder: "Build a CLI to-do app that stores items in JSON" });
  const model = h("input", { name: "model", placeholder: "model (default: the server's)" });
  const budget = h("input", { name: "investment", type: "number", step: "0.01", min: "0", placeholder: "budget $" });
  const gates = { company: ["prd", "design", "tasks"], di: ["plan"] };
  const review = Object.entries(gates).flatMap(([owner, stages]) => stages.map((stage) => h("label",
    { "data-kind": owner, hidden: owner !== "company" }, h("input", { type: "checkbox", name: "review", value: stage }),
    ` ${stage}`)));
  const data = h("input", { type: "file", name: "data", multiple: true, hidden: true });
  const scenario = scenarioForm();
  kind.addEventListener("change", () => {
    for (const label of review) label.hidden = label.dataset.kind !== kind.value;
    data.hidden = kind.value !== "di";
    idea.hidden = kind.value === "scenario";
    scenario.show(kind.value === "scenario").catch((failure) => { error.textContent = failure.message; });
    idea.placeholder = kind.value === "di" ? "Which region grew fastest? Plot monthly revenue."
      : "Build a CLI to-do app that stores items in JSON";
  });
  const error = h("p", { class: "error" });
  const form = h("form", { id: "new-run", onsubmit: async (event) => {
    event.preventDefault();
    const body = { kind: kind.value, idea: idea.value.trim() };
    if (model.value.trim()) body.model = model.value.trim();
    if (budget.value) body.investment = Number(budget.value);
    body.review = review.filter((label) => !label.hidden && label.firstChild.checked).map((label) => label.firstChild.value);
    try {
      if (kind.value === "di") body.data = await Promise.all([...data.files].map(uploaded));
      if (kind.value === "scenario") Object.assign(body, scenario.body());
      const created = await api("POST", "/api/runs", body);
      location.hash = `#/runs/${created.id}`;
    } catch (failure) {
      error.textContent = failure.message;
    }
  } }, h("div", { class: "row" }, kind, data), scenario.box, idea, h("div", { class: "row" }, model, budget,
    h("span", {}, "review:"), review, h("button", { type: "submit" }, "Start run")), error);
  app.replaceChildren(h("h2", {}, "New run"), form, h("h2", {}, "Runs"),
    runs.length ? h("table", { id: "runs" }, h("tr", {}, ...["run", "status", "stage", "idea", "cost", "time"]
      .map((name) => h("th", {}, name))), rows) : h("p", {}, "No runs yet."));
}

async function uploaded(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { name: file.name, content_base64: btoa(binary) };
}

// --- one run ---------------------------------------------------------------------------------------
function runView(run) {
  const view = {
    run, lanes: new Map(), documents: [], stages: [], tokens: 0, cost: 0,
    meter: h("div", { class: "meter" }), timeline: h("ol", { class: "timeline" }),
    laneBox: h("div", { class: "lanes" }), docTabs: h("div", { class: "tabs" }), doc: h("article", { class: "doc", id: "document" }),
    gate: h("section", { class: "gate", hidden: true }), tests: h("section", { class: "tests" }),
    notes: h("ul", { class: "notes" }), status: h("span", { class: `status ${run.status}` }, run.status),
    cells: h("section", { class: "cells", hidden: true }, h("h3", {}, "Cells")),
    chat: run.kind === "scenario" ? conversation(run) : null,
  };
  view.tokens = run.prompt_tokens + run.completion_tokens;
  view.cost = run.cost_usd;
  const files = h("section", { class: "files" });
  app.replaceChildren(
    h("h2", {}, `${run.status === "replaying" ? "Replay of run" : "Run"} ${run.id} `, view.status),
    h("p", { class: "idea" }, run.idea),
    view.meter, view.timeline, view.gate, view.chat ? view.chat.section : "",
    h("h3", {}, "Team"), view.laneBox,
    ...(view.chat ? [] : [h("h3", {}, "Documents"), view.docTabs, view.doc, h("h3", {}, "Tests"), view.tests]),
    view.cells,
    h("h3", {}, "Files ", h("a", { href: `/api/runs/${run.id}/archive.zip`, download: "" }, "download zip")), files,
    h("h3", {}, "Notes"), view.notes,
    h("p", {}, h("a", { href: `#/runs/${run.id}/replay` }, "replay this run")),
  );
  view.files = files;
  drawMeter(view);
  return view;
}

function lane(view, role) {
  if (!view.lanes.has(role)) {
    const doing = h("div", { class: "doing" }, "waiting");
    const text = h("pre", { class: "stream" });
    const box = h("div", { class: "lane", "data-role": role }, h("h4", {}, role), doing, text);
    view.laneBox.append(box);
    view.lanes.set(role, { doing, text });
  }
  return view.lanes.get(role);
}

function drawMeter(view) {
  const budget = view.run.budget_usd;
  const share = budget ? Math.min(1, view.cost / budget) : 0;
  view.meter.replaceChildren(
    h("span", { class: "tokens" }, `${view.tokens.toLocaleString()} tokens`),
    h("span", { class: "cost" }, ` ${money(view.cost)}${budget ? ` of ${money(budget)}` : ""}`),
    budget ? h("progress", { max: 1, value: share }) : "",
  );
}

function addDocument(view, message) {
  const index = view.documents.length;
  view.documents.push(message);
  const tab = h("button", { type: "button", onclick: () => markdown(view.doc, message.content) },
    `${message.cause_by} (${message.sent_from})`);
  view.docTabs.append(tab);
  if (index === 0 || /design/i.test(message.cause_by)) markdown(view.doc, message.content);
}

function apply(view, event) {
  const kind = event.kind;
  if (kind === "stage.started") {
    view.timeline.append(h("li", { class: "stage" }, event.role));
    lane(view, event.role).doing.textContent = `working: ${(event.actions || []).join(", ")}`;
  } else if (kind === "stage.finished") {
    view.timeline.append(h("li", { class: "stage done" }, `${event.name} done`));
  } else if (kind === "call.started") {
    const l = lane(view, event.role);
    l.doing.textContent = `asking the model: ${event.what}`;
    l.text.textContent = "";
  } else if (kind === "call.token") {
    const l = lane(view, event.role);
    l.text.textContent = (l.text.textContent + event.text).slice(-3000);
  } else if (kind === "call.finished") {
    lane(view, event.role).doing.textContent = `answered (${event.completion_tokens} tokens)`;
    view.tokens += (event.prompt_tokens || 0) + (event.completion_tokens || 0);
    view.cost += event.cost_usd || 0;
    drawMeter(view);
  } else if (kind === "message.published" && view.chat) {
    view.chat.add(event);
    if ((event.payload || {}).human) view.chat.answered();
  } else if (kind === "message.published") {
    if (event.content && event.cause_by !== "ReviewFeedback") addDocument(view, event);
  } else if (kind === "test.report") {
    view.tests.replaceChildren(h("p", { class: event.failed || event.errors ? "failed" : "passed" },
      `${event.passed} passed, ${event.failed} failed, ${event.errors} errors`), h("pre", {}, event.summary || ""));
  } else if (kind === "cell.executed") {
    view.cells.hidden = false;
    view.cells.append(h("div", { class: `cell ${event.status}` },
      h("h4", {}, `task ${event.task}, attempt ${event.attempt}: ${event.status} (${event.seconds} s)`),
      h("pre", { class: "code" }, event.code), h("pre", { class: "shown" }, event.shown || ""),
      (event.charts || []).map((chart) => h("img", { class: "chart", alt: chart,
        src: `/api/runs/${view.run.id}/files/${encodeURI(chart)}` }))));
  } else if (kind === "note") {
    view.notes.append(h("li", {}, event.text));
    if (event.source === "human" && view.chat && view.live) view.chat.waitForPerson();
  } else if (kind === "review.waiting") {
    showGate(view);
  } else if (kind === "review.answered") {
    view.gate.hidden = true;
  } else if (kind === "run.finished") {
    view.status.textContent = event.status === "completed" ? event.result || "completed" : event.status;
    view.status.className = `status ${event.status}`;
  }
}

async function showGate(view) {
  const question = await waitingAt(`/api/runs/${view.run.id}/gate`);
  if (!question) return; // answered meanwhile
  const rendered = h("article", { class: "doc" });
  const editor = h("textarea", { class: "edit", rows: 16, hidden: true }, question.document || question.content);
  const feedback = h("textarea", { class: "feedback", rows: 3, placeholder: "what should change" });
  const errors = h("ul", { class: "error" });
  const send = async (decision) => {
    errors.replaceChildren();
    try {
      await api("POST", `/api/runs/${view.run.id}/gate`, { decision, document: editor.value, feedback: feedback.value });
      view.gate.hidden = true;
    } catch (failure) {
      const lines = (failure.data && failure.data.errors) || [failure.message];
      errors.replaceChildren(...lines.map((line) => h("li", {}, line)));
    }
  };
  view.gate.replaceChildren(
    h("h3", {}, `Review: the ${question.stage}, by ${question.from}`), rendered,
    h("div", { class: "row" },
      h("button", { type: "button", class: "approve", onclick: () => send("approve") }, "Approve"),
      h("button", { type: "button", onclick: () => { editor.hidden = !editor.hidden; } }, "Edit"),
      h("button", { type: "button", class: "abort", onclick: () => send("abort") }, "Abort")),
    editor, h("button", { type: "button", class: "save-edit", onclick: () => send("edit") }, "Save edit"),
    feedback, h("button", { type: "button", class: "send-feedback", onclick: () => send("feedback") }, "Send feedback"),
    errors);
  view.gate.hidden = false;
  await markdown(rendered, question.content);
}

async function showFiles(view) {
  let tree;
  try {
    tree = await api("GET", `/api/runs/${view.run.id}/files`);
  } catch {
    view.files.replaceChildren(h("p", {}, "No project folder yet."));
    return;
  }
  const code = h("pre", { class: "code" });
  const shown = h("div", { class: "file" }, code);
  const list = h("ul", { class: "tree" }, tree.files.map((file) => h("li", {},
    h("a", { href: "#", onclick: async (event) => {
      event.preventDefault();
      const url = `/api/runs/${view.run.id}/files/${encodeURI(file.path)}`;
      if (/\.(png|jpe?g)$/i.test(file.path)) {
        shown.replaceChildren(h("img", { class: "chart", alt: file.path, src: url }));
        return;
      }
      code.textContent = await api("GET", url);
      shown.replaceChildren(code);
    } }, file.path), " ",
    h("a", { href: `/api/runs/${view.run.id}/files/${encodeURI(file.path)}?download=1`, class: "download" }, "⇩"))));
  view.files.replaceChildren(list, shown);
}

async function showRun(id) {
  const run = await api("GET", `/api/runs/${id}`);
  const view = runView(run);
  view.live = true;
  const source = new EventSource(`/api/runs/${id}/events`);
  for (const kind of ["run.started", "stage.started", "stage.finished", "call.started", "call.token", "call.finished",
    "message.published", "test.report", "note", "review.waiting", "review.answered", "run.finished",
    "artifact.written", "project.opened", "cell.executed"]) {
    source.addEventListener(kind, (message) => apply(view, JSON.parse(message.data)));
  }
  source.addEventListener("run.finished", async () => {
    const now = await api("GET", `/api/runs/${id}`);
    if (now.status !== "running" && now.status !== "queued") source.close();
    view.run = now;
    showFiles(view);
  });
  source.addEventListener("artifact.written", () => showFiles(view));
  if (run.waiting_for_review) showGate(view);
  if (run.waiting_for_person && view.chat) view.chat.waitForPerson();
  showFiles(view);
  closeView = () => source.close();
}

async function replayRun(id) {
  const run = await api("GET", `/api/runs/${id}`);
  const events = await api("GET", `/api/runs/${id}/history`);
  const view = runView({ ...run, status: "replaying", prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 });
  let stopped = false;
  closeView = () => { stopped = true; };
  for (let i = 0; i < events.length && !stopped; i += 1) {
    apply(view, { ...events[i], kind: events[i].kind });
    const gap = i + 1 < events.length ? (events[i + 1].at - events[i].at) * 1000 : 0;
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(gap / 20, 5), 300)));
  }
  showFiles(view);
}

// --- routing ---------------------------------------------------------------------------------------
async function route() {
  closeView();
  closeView = () => {};
  try {
    const me = await api("GET", "/api/session");
    Object.assign(session, me);
    document.getElementById("who").textContent = me.via === "open" ? "this machine (no tokens)" : `signed in (${me.scope})`;
    const [, runs, id, replay] = location.hash.split("/");
    if (runs === "runs" && id && replay === "replay") await replayRun(id);
    else if (runs === "runs" && id) await showRun(id);
    else await showRuns();
  } catch (failure) {
    if (failure.message !== "sign in first") app.replaceChildren(h("p", { class: "error" }, failure.message));
  }
}

window.addEventListener("hashchange", route);
route();
