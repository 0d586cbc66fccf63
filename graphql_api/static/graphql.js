// GraphQL over HTTP (queries) and over one WebSocket speaking graphql-transport-ws (subscriptions).

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

export async function query(token, document, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: document, variables }),
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the API answered ${response.status} without JSON`, "NETWORK");
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, (first.extensions && first.extensions.code) || "ERROR");
  }
  return body.data;
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10000;
const CLOSE_FORBIDDEN = 4403;

// One socket for every subscription of the page; reconnects with backoff and re-subscribes.
export class LiveConnection {
  constructor(token, { onStatus = () => {}, onRefused = () => {} } = {}) {
    this.token = token;
    this.onStatus = onStatus;
    this.onRefused = onRefused;
    this.nextId = 1;
    this.operations = new Map();
    this.socket = null;
    this.acknowledged = false;
    this.closed = false;
    this.delay = RETRY_FIRST_MS;
    this.open();
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/graphql`;
  }

  open() {
    this.onStatus("connecting");
    const socket = new WebSocket(this.url(), "graphql-transport-ws");
    this.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${this.token}` } }));
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      this.acknowledged = false;
      if (this.closed) return;
      if (event.code === CLOSE_FORBIDDEN) {
        this.closed = true;
        this.onStatus("refused");
        this.onRefused(event.reason || "the server refused the token");
        return;
      }
      this.onStatus("reconnecting");
      setTimeout(() => { if (!this.closed) this.open(); }, this.delay);
      this.delay = Math.min(this.delay * 2, RETRY_MAX_MS);
    });
  }

  receive(message) {
    switch (message.type) {
      case "connection_ack":
        this.acknowledged = true;
        this.delay = RETRY_FIRST_MS;
        this.onStatus("live");
        for (const [id, op] of this.operations) this.sendSubscribe(id, op);
        break;
      case "ping":
        this.socket.send(JSON.stringify({ type: "pong" }));
        break;
      case "next": {
        const op = this.operations.get(message.id);
        if (!op) break;
        if (message.payload.errors && message.payload.errors.length) op.onError(message.payload.errors[0].message);
        else op.onNext(message.payload.data);
        break;
      }
      case "error": {
        const op = this.operations.get(message.id);
        if (op) op.onError(message.payload.map((e) => e.message).join("; "));
        this.operations.delete(message.id);
        break;
      }
      case "complete":
        this.operations.delete(message.id);
        break;
      default:
        break;
    }
  }

  sendSubscribe(id, op) {
    this.socket.send(JSON.stringify({ id, type: "subscribe", payload: { query: op.query, variables: op.variables } }));
  }

  subscribe(document, variables, onNext, onError = () => {}) {
    const id = String(this.nextId++);
    const op = { query: document, variables, onNext, onError };
    this.operations.set(id, op);
    if (this.acknowledged) this.sendSubscribe(id, op);
    return () => {
      if (!this.operations.delete(id)) return;
      if (this.acknowledged) this.socket.send(JSON.stringify({ id, type: "complete" }));
    };
  }

  close() {
    this.closed = true;
    this.operations.clear();
    if (this.socket) this.socket.close(1000, "signed out");
    this.onStatus("offline");
  }
}
