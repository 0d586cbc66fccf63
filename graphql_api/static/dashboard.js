// The dashboard: sign in with a token, pick a game, see live and historical numbers.
import { barChart, fmt, funnelChart, lineChart, outcomeChart } from "./charts.js";
import { LiveConnection, query } from "./graphql.js";

const TOKEN_KEY = "gamemetrics.token";
const GAME_KEY = "gamemetrics.game";
const LIVE_WINDOW_S = 120;
const DAY_MS = 86400000;
const HISTORY_REFRESH_MS = 60000;
const PIPELINE_REFRESH_MS = 10000;

const $ = (id) => document.getElementById(id);
const state = { token: null, games: [], game: null, days: 30, live: null, unsubscribe: null, liveSeries: [], funnelSteps: null };

// ---- sign in / out -------------------------------------------------------------------------

function showSignIn(message) {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").hidden = !message;
  $("signin-error").textContent = message || "";
  $("signin-button").disabled = false;
  $("token-input").focus();
}

async function signIn(token) {
  $("signin-button").disabled = true;
  try {
    const data = await query(token, "{ me { subject role games expiresAt } games { gameId name } }");
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    state.games = data.games;
    $("viewer").textContent = `${data.me.subject} · ${data.me.role}`;
    $("viewer").title = `expires ${data.me.expiresAt}`;
    $("signin").hidden = true;
    $("app").hidden = false;
    startLive();
    fillGamePicker();
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(error.message);
  }
}

function signOut(message) {
  if (state.live) state.live.close();
  state.live = null;
  state.unsubscribe = null;
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("token-input").value = "";
  showSignIn(message);
}

// ---- game and range --------------------------------------------------------------------------

function fillGamePicker() {
  const picker = $("game-picker");
  picker.replaceChildren(...state.games.map((g) => new Option(`${g.name}`, g.gameId)));
  if (!state.games.length) {
    picker.append(new Option("No games for this token", ""));
    return;
  }
  const remembered = sessionStorage.getItem(GAME_KEY);
  const chosen = state.games.find((g) => g.gameId === remembered) || state.games[0];
  picker.value = chosen.gameId;
  selectGame(chosen.gameId);
}

function selectGame(gameId) {
  state.game = gameId;
  sessionStorage.setItem(GAME_KEY, gameId);
  subscribeLive();
  refresh();
}

function isoDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function range() {
  const tomorrow = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS;
  const from = tomorrow - state.days * DAY_MS;
  return { fromDay: isoDay(from), toDay: isoDay(tomorrow), from: new Date(from).toISOString(), to: new Date(tomorrow).toISOString() };
}

// ---- live ------------------------------------------------------------------------------------

const LIVE_STATUS = { live: ["Live", "pill-on"], connecting: ["Connecting", "pill-warn"], reconnecting: ["Reconnecting", "pill-warn"], refused: ["Refused", "pill-off"], offline: ["Offline", "pill-off"] };

function startLive() {
  state.live = new LiveConnection(state.token, {
    onStatus: (status) => {
      const [text, cls] = LIVE_STATUS[status] || LIVE_STATUS.offline;
      $("live-status").textContent = text;
      $("live-status").className = `pill ${cls}`;
    },
    onRefused: (reason) => signOut(`Live updates refused: ${reason}`),
  });
}

const LIVE_METRICS = `subscription Live($gameId: String!) {
  liveMetrics(gameId: $gameId) { second eventsPerSecond eventsLastMinute activePlayers5m revenueLastMinuteUsd warmingUp }
}`;

function subscribeLive() {
  if (state.unsubscribe) state.unsubscribe();
  state.liveSeries = [];
  drawLive();
  state.unsubscribe = state.live.subscribe(LIVE_METRICS, { gameId: state.game }, ({ liveMetrics: m }) => {
    const x = new Date(m.second);
    const last = state.liveSeries[state.liveSeries.length - 1];
    if (!last || last.x < x) state.liveSeries.push({ x, y: m.eventsPerSecond });
    const cutoff = x.getTime() - LIVE_WINDOW_S * 1000;
    while (state.liveSeries.length && state.liveSeries[0].x.getTime() < cutoff) state.liveSeries.shift();
    $("kpi-eps").textContent = fmt.int(m.eventsPerSecond);
    $("kpi-active").textContent = fmt.int(m.activePlayers5m);
    $("kpi-revenue-minute").textContent = fmt.usd(m.revenueLastMinuteUsd);
    $("live-note").textContent = `${fmt.int(m.eventsLastMinute)} events in the last minute${m.warmingUp ? " · catching up" : ""}`;
    drawLive();
  }, (message) => { $("live-note").textContent = message; });
}

function drawLive() {
  const last = state.liveSeries.length ? state.liveSeries[state.liveSeries.length - 1].x : new Date(Math.floor(Date.now() / 1000) * 1000);
  lineChart($("live-chart"), {
    points: state.liveSeries, domain: [new Date(last.getTime() - LIVE_WINDOW_S * 1000), last],
    yTitle: "events / s", yFormat: fmt.compact, xFormat: fmt.clock, emptyText: "Waiting for events…", minY: 5,
  });
}

// ---- panels ----------------------------------------------------------------------------------

function panelError(id, error) {
  if (error.code === "UNAUTHENTICATED") return signOut(error.message);
  const box = document.createElement("p");
  box.className = "panel-error";
  box.textContent = error.message;
  $(id).replaceChildren(box);
}

function parseSteps(text) {
  return text.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = s.match(/^level:([^:]+)(?::(start|complete|fail))?$/i);
    return m ? { progression: { level: m[1], status: (m[2] || "complete").toUpperCase() } } : { eventType: s };
  });
}

const OVERVIEW = `query Overview($gameId: String!, $fromDay: Date!, $toDay: Date!, $from: DateTime!, $to: DateTime!) {
  activeUsers(gameId: $gameId, from: $fromDay, to: $toDay, granularity: DAY) {
    points { start activeUsers } stickiness { averageDau mau ratio }
  }
  revenue(gameId: $gameId, from: $fromDay, to: $toDay, bucket: DAY) {
    total { revenueUsd payingUsers arpdau arppu conversion } points { start revenueUsd }
  }
  fairness(gameId: $gameId, from: $from, to: $to) { modes { mode matches winRate drawRate lossRate } }
  sessions(gameId: $gameId, from: $from, to: $to) {
    count ended meanSeconds medianSeconds p90Seconds concurrentPlayers(bucket: DAY) { start peak }
  }
}`;

const RETENTION = `query Retention($gameId: String!, $from: Date!, $to: Date!) {
  retention(gameId: $gameId, cohortFrom: $from, cohortTo: $to, days: [1, 3, 7, 14, 30]) {
    days cohorts { cohort players days { day rate } } average { day rate }
  }
}`;

const FUNNEL = `query Funnel($gameId: String!, $steps: [FunnelStepInput!]!, $from: DateTime!, $to: DateTime!) {
  funnel(gameId: $gameId, steps: $steps, from: $from, to: $to, within: "1d") {
    steps { label players conversion stepConversion }
  }
}`;

const PIPELINE = `{ pipeline { consumerLag lastLandedEventTime lastLandedAt deadLettersTotal deadLetters { errorType count } replicaLagSeconds } }`;

async function refresh() {
  if (!state.game) return;
  const r = range();
  const game = state.game;
  const stale = () => game !== state.game;
  const vars = { gameId: game, fromDay: r.fromDay, toDay: r.toDay, from: r.from, to: r.to };
  const funnelFrom = new Date(Math.max(Date.parse(r.from), Date.parse(r.to) - 30 * DAY_MS)).toISOString();
  await Promise.all([
    query(state.token, OVERVIEW, vars).then((d) => !stale() && drawOverview(d), (e) => {
      for (const id of ["dau-chart", "revenue-chart", "fairness-chart", "sessions-stats"]) panelError(id, e);
    }),
    query(state.token, RETENTION, { gameId: game, from: r.fromDay, to: r.toDay })
      .then((d) => !stale() && drawRetention(d.retention), (e) => panelError("retention-table", e)),
    query(state.token, FUNNEL, { gameId: game, steps: parseSteps($("funnel-steps").value), from: funnelFrom, to: r.to })
      .then((d) => !stale() && funnelChart($("funnel-chart"), d.funnel.steps), (e) => panelError("funnel-chart", e)),
    refreshPipeline(),
  ]);
}

function refreshPipeline() {
  return query(state.token, PIPELINE).then((d) => drawPipeline(d.pipeline), (e) => panelError("pipeline-stats", e));
}

function stat(label, value, note = "") {
  const box = document.createElement("div");
  box.className = "stat";
  const name = document.createElement("span");
  name.textContent = label;
  const strong = document.createElement("strong");
  strong.textContent = value;
  box.append(name, strong);
  if (note) {
    const small = document.createElement("small");
    small.textContent = note;
    box.append(small);
  }
  return box;
}

function drawOverview({ activeUsers, revenue, fairness, sessions }) {
  const dau = activeUsers.points.map((p) => ({ x: new Date(p.start + "T00:00:00Z"), y: p.activeUsers }));
  lineChart($("dau-chart"), { points: dau, yTitle: "players", yFormat: fmt.compact, xFormat: fmt.day, partialLast: true });
  const full = dau.length > 1 ? dau[dau.length - 2].y : 0;
  $("dau-note").textContent = `yesterday ${fmt.int(full)} · today so far ${fmt.int(dau.length ? dau[dau.length - 1].y : 0)}`;
  $("kpi-stickiness").textContent = fmt.pct(activeUsers.stickiness.ratio);
  $("kpi-stickiness-sub").textContent = `avg DAU ${fmt.int(activeUsers.stickiness.averageDau)} / MAU ${fmt.int(activeUsers.stickiness.mau)}`;

  const t = revenue.total;
  barChart($("revenue-chart"), {
    points: revenue.points.map((p) => ({ x: new Date(p.start + "T00:00:00Z"), y: p.revenueUsd })),
    yTitle: "USD", yFormat: fmt.usdAxis, xFormat: fmt.day, emptyText: "No revenue in this range",
  });
  $("revenue-note").textContent = `ARPDAU ${t.arpdau === null ? "–" : fmt.usd(t.arpdau)} · ARPPU ${t.arppu === null ? "–" : fmt.usd(t.arppu)} · conversion ${fmt.pct(t.conversion)}`;
  $("kpi-revenue").textContent = fmt.usd(t.revenueUsd);
  $("kpi-revenue-sub").textContent = `USD · ${fmt.int(t.payingUsers)} paying players`;

  outcomeChart($("fairness-chart"), fairness.modes);

  $("sessions-stats").replaceChildren(
    stat("Sessions", fmt.int(sessions.count), `${fmt.int(sessions.ended)} ended`),
    stat("Median length", fmt.seconds(sessions.medianSeconds)),
    stat("Mean length", fmt.seconds(sessions.meanSeconds)),
    stat("90th percentile", fmt.seconds(sessions.p90Seconds)),
  );
  $("sessions-note").textContent = "started in range";
  barChart($("concurrency-chart"), {
    points: sessions.concurrentPlayers.map((p) => ({ x: new Date(p.start), y: p.peak })),
    yTitle: "peak players", yFormat: fmt.compact, xFormat: fmt.day, emptyText: "No sessions in this range",
  });
}

function retentionColor(rate) {
  // indigo scale: transparent at 0, strong at >= 60 %
  const alpha = Math.min(1, rate / 0.6) * 0.85 + 0.06;
  return `rgba(79, 70, 229, ${alpha.toFixed(3)})`;
}

function drawRetention(retention) {
  const table = document.createElement("table");
  table.className = "retention";
  const head = table.createTHead().insertRow();
  for (const title of ["Cohort", "Players", ...retention.days.map((d) => `Day ${d}`)]) {
    const th = document.createElement("th");
    th.textContent = title;
    head.append(th);
  }
  const body = table.createTBody();
  const avg = body.insertRow();
  avg.className = "avg";
  avg.insertCell().textContent = "All cohorts";
  avg.insertCell().textContent = fmt.int(retention.cohorts.reduce((s, c) => s + c.players, 0));
  for (const d of retention.average) {
    const cell = avg.insertCell();
    cell.textContent = fmt.pct(d.rate);
  }
  for (const c of retention.cohorts) {
    const row = body.insertRow();
    row.insertCell().textContent = fmt.day(new Date(c.cohort + "T00:00:00Z"));
    row.insertCell().textContent = fmt.int(c.players);
    for (const d of c.days) {
      const cell = row.insertCell();
      if (d.rate === null) {
        cell.className = "na";
        cell.textContent = c.players ? "…" : "–";
      } else {
        cell.className = "cell";
        cell.textContent = fmt.pct(d.rate);
        cell.style.background = retentionColor(d.rate);
        if (d.rate > 0.35) cell.style.color = "#fff";
      }
    }
  }
  $("retention-table").replaceChildren(table);
}

function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 90 ? `${Math.round(s)} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
}

function drawPipeline(p) {
  const dlq = p.deadLetters.length ? p.deadLetters.map((d) => `${d.errorType} ${fmt.int(d.count)}`).join(" · ") : "none";
  $("pipeline-stats").replaceChildren(
    stat("Consumer lag", fmt.int(p.consumerLag), "messages not yet landed"),
    stat("Last landed", ago(p.lastLandedAt), p.lastLandedEventTime ? `event time ${p.lastLandedEventTime.slice(0, 19).replace("T", " ")}` : ""),
    stat("Dead letters", fmt.int(p.deadLettersTotal), dlq),
    ...(p.replicaLagSeconds == null ? [] : [stat("Replica lag", `${p.replicaLagSeconds.toFixed(1)} s`, "reads behind the primary")]),
  );
  $("pipeline-note").textContent = "landing workers · whole deployment";
}

// ---- wiring ----------------------------------------------------------------------------------

window.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
    if (token) signIn(token);
  });
  $("signout").addEventListener("click", () => signOut());
  $("game-picker").addEventListener("change", (event) => event.target.value && selectGame(event.target.value));
  $("range-picker").addEventListener("change", (event) => { state.days = Number(event.target.value); refresh(); });
  $("funnel-form").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
  let resizeTimer;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => { drawLive(); refresh(); }, 200); });
  setInterval(() => { if (state.token && state.game) refresh(); }, HISTORY_REFRESH_MS);
  setInterval(() => { if (state.token) refreshPipeline(); }, PIPELINE_REFRESH_MS);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
  else showSignIn();
});
