// The page's logic: send the text to POST /v1/tag and show entities (displaCy-style), the topic and the JSON.
"use strict";

const COLOURS = { PERS: "#ffd6a5", LOC: "#caffbf", ORG: "#9bf6ff", MISC: "#ffc6ff" };
const $ = (id) => document.getElementById(id);

function colour(label) {
  if (COLOURS[label]) return COLOURS[label];
  let hash = 0;
  for (const ch of label) hash = (hash * 31 + ch.codePointAt(0)) % 360;
  return `hsl(${hash}, 80%, 85%)`;
}

function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function renderLegend(types) {
  const legend = $("legend");
  legend.replaceChildren(
    ...types.map((t) => {
      const item = element("span", { textContent: t, className: "legend-item" });
      item.style.background = colour(t);
      return item;
    })
  );
}

function renderEntities(result) {
  // Offsets are JavaScript string indices only for BMP text; walk code points to match Python's character offsets.
  const chars = Array.from(result.text);
  const parts = [];
  let pos = 0;
  for (const e of result.entities) {
    if (e.start > pos) parts.push(chars.slice(pos, e.start).join(""));
    const score = e.score == null ? "" : ` ${e.score.toFixed(2)}`;
    const mark = element("mark", { className: "entity", title: `${e.label}${score}` }, [
      element("span", { className: "entity-text", textContent: chars.slice(e.start, e.end).join("") }),
      element("span", { className: "entity-label", textContent: `${e.label}${score}` }),
    ]);
    mark.dataset.label = e.label;
    mark.dataset.start = e.start;
    mark.dataset.end = e.end;
    mark.style.background = colour(e.label);
    parts.push(mark);
    pos = e.end;
  }
  if (pos < chars.length) parts.push(chars.slice(pos).join(""));
  $("entities").replaceChildren(...parts);
}

function renderTopic(result) {
  const section = $("topic-section");
  if (!result.topic) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  $("topic").textContent = `${result.topic} (${(result.topic_score ?? 0).toFixed(2)})`;
  const rows = Object.entries(result.topic_probabilities || {}).sort((a, b) => b[1] - a[1]);
  $("topic-bars").replaceChildren(
    ...rows.map(([name, p]) => {
      const fill = element("div", { className: "fill" });
      fill.style.width = `${(p * 100).toFixed(1)}%`;
      return element("li", { className: "bar" }, [
        element("span", { className: "name", textContent: name }),
        element("div", { className: "track" }, [fill]),
        element("span", { className: "value", textContent: p.toFixed(3) }),
      ]);
    })
  );
}

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

async function submit(event) {
  event.preventDefault();
  const button = $("submit");
  button.disabled = true;
  setStatus("…");
  try {
    const response = await fetch("/v1/tag", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("text").value }),
    });
    const body = await response.json();
    if (!response.ok) {
      setStatus(`${response.status}: ${body.error || JSON.stringify(body)}`, true);
      return;
    }
    const result = body.results[0];
    const seen = [...new Set(result.entities.map((e) => e.label))];
    renderLegend([...new Set([...(window.entityTypes || []), ...seen])]);
    renderEntities(result);
    renderTopic(result);
    $("json").textContent = JSON.stringify(body, null, 2);
    $("results").hidden = false;
    setStatus(`${result.entities.length} entities${result.topic ? ` · ${result.topic}` : ""}`);
    document.body.dataset.state = "done";
  } catch (err) {
    setStatus(String(err), true);
  } finally {
    button.disabled = false;
  }
}

function readFile() {
  const file = $("file").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    $("text").value = reader.result;
  };
  reader.onerror = () => setStatus(`cannot read ${file.name}`, true);
  reader.readAsText(file, "utf-8");
}

async function loadModel() {
  try {
    const info = await (await fetch("/v1/model")).json();
    window.entityTypes = info.tasks.flatMap((t) => t.entity_types || []);
    $("models").textContent = info.tasks.map((t) => `${t.task}: ${t.checkpoint} (${t.encoder})`).join(" · ");
  } catch (err) {
    setStatus(String(err), true);
  }
}

$("form").addEventListener("submit", submit);
$("file").addEventListener("change", readFile);
loadModel();
