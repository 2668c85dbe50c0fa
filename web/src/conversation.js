// Scenarios on the page: a picker in the new-run form (a built-in scenario, its inputs, the role a
// person plays) and a chat view of a conversation, where the person types their turns.
import { api, h, waitingAt } from "./dom.js";

let known;

async function scenarios() {
  known = known || await api("GET", "/api/scenarios");
  return known;
}

// The picker's fields; `body()` gives the request's scenario part.
export function scenarioForm() {
  const pick = h("select", { name: "scenario" });
  const inputs = h("div", { class: "inputs" });
  const person = h("select", { name: "human" });
  const box = h("div", { class: "scenario-form", hidden: true },
    h("div", { class: "row" }, h("label", {}, "scenario ", pick), h("label", {}, "I play ", person)), inputs);
  const draw = async () => {
    const chosen = (await scenarios()).find((s) => s.name === pick.value);
    if (!chosen) return;
    inputs.replaceChildren(h("p", { class: "hint" }, chosen.description),
      ...Object.entries(chosen.inputs).map(([key, spec]) => h("label", { class: "input" }, `${key} `,
        h("input", { name: key, "data-input": key, value: spec.default || "", placeholder: spec.description,
          title: spec.description }))));
    person.replaceChildren(h("option", { value: "" }, "nobody (watch)"),
      ...chosen.roles.map((role) => h("option", { value: role.name, selected: role.human }, role.name)));
  };
  pick.addEventListener("change", draw);
  return {
    box,
    async show(visible) {
      box.hidden = !visible;
      if (!visible || pick.options.length) return;
      pick.replaceChildren(...(await scenarios()).map((s) => h("option", { value: s.name }, s.name)));
      await draw();
    },
    body() {
      const given = Object.fromEntries([...inputs.querySelectorAll("input[data-input]")]
        .filter((field) => field.value.trim()).map((field) => [field.dataset.input, field.value.trim()]));
      return { scenario: pick.value, inputs: given, humans: person.value ? [person.value] : [] };
    },
  };
}

// The chat view of one run: every message as a line with its speaker, stage and citations; the
// person's input box while the run waits for their turn.
export function conversation(run) {
  const lines = h("ol", { class: "chat" });
  const ask = h("form", { class: "turn", hidden: true });
  const section = h("section", { class: "conversation" }, h("h3", {}, "Conversation"), lines, ask);
  return {
    section,
    add(message) {
      const payload = message.payload || {};
      const cited = (payload.citations || []).map((c) => h("li", {}, `[${c.n}] ${c.source} (chunk ${c.chunk})`));
      lines.append(h("li", { class: `said${payload.human ? " person" : ""}${payload.private ? " private" : ""}`,
        "data-speaker": message.sent_from },
      h("div", { class: "who" }, `${message.sent_from} · ${message.cause_by}${payload.private ? " (private)" : ""}`),
      h("div", { class: "words" }, message.content), cited.length ? h("ul", { class: "citations" }, cited) : ""));
    },
    async waitForPerson() {
      const turn = await waitingAt(`/api/runs/${run.id}/turn`);
      if (!turn) return;
      const text = h("textarea", { name: "text", rows: 3, placeholder: `what ${turn.role} says` });
      const error = h("p", { class: "error" });
      const send = async (body) => {
        try {
          await api("POST", `/api/runs/${run.id}/turn`, body);
          ask.hidden = true;
        } catch (failure) {
          error.textContent = failure.message;
        }
      };
      ask.onsubmit = (event) => { event.preventDefault(); send({ text: text.value }); };
      ask.replaceChildren(h("h4", {}, `Your turn as ${turn.role} (${turn.stage})`),
        h("p", { class: "hint" }, turn.instruction), text,
        h("div", { class: "row" }, h("button", { type: "submit", class: "approve" }, "Say it"),
          h("button", { type: "button", class: "abort", onclick: () => send({ leave: true }) }, "Leave for now")),
        error);
      ask.hidden = false;
      text.focus();
    },
    answered() {
      ask.hidden = true;
    },
  };
}
