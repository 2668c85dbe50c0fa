// What every part of the page shares: talking to the server, building nodes from text (never a
// model's HTML), and Markdown cleaned by DOMPurify with its Mermaid diagrams drawn.
import DOMPurify from "dompurify";
import { marked } from "marked";
import mermaid from "mermaid";

mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });

export const hooks = { signIn: () => {} };
export const app = document.getElementById("app");
export const session = { csrf: "", scope: "", via: "" };

// --- talking to the server -------------------------------------------------------------------------
export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = session.csrf;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const isJson = (response.headers.get("content-type") || "").includes("json");
  const data = isJson ? await response.json() : await response.text();
  if (response.status === 401) {
    hooks.signIn();
    throw new Error("sign in first");
  }
  if (!response.ok) {
    const error = new Error((data && data.detail) || response.statusText);
    error.data = data;
    error.status = response.status;
    throw error;
  }
  return data;
}

// --- building the page (text only; never a model's HTML) ------------------------------------------
// A question the run announces a moment before it waits on it (a gate, a person's turn): asked
// again for a few seconds while the server answers 404; undefined when it never came (or was answered).
export async function waitingAt(path) {
  for (let tries = 0; tries < 25; tries += 1) {
    try {
      return await api("GET", path);
    } catch (failure) {
      if (failure.status !== 404) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return undefined;
}

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function money(value) {
  return `$${(value || 0).toFixed(4)}`;
}

export async function markdown(target, text) {
  target.innerHTML = DOMPurify.sanitize(marked.parse(text || ""));
  const diagrams = [];
  for (const code of target.querySelectorAll("pre > code.language-mermaid")) {
    const holder = h("div", { class: "mermaid" }, code.textContent);
    code.parentElement.replaceWith(holder);
    diagrams.push(holder);
  }
  if (diagrams.length) {
    try {
      await mermaid.run({ nodes: diagrams });
    } catch (error) {
      target.append(h("p", { class: "error" }, `a diagram could not be drawn: ${error.message}`));
    }
  }
}

