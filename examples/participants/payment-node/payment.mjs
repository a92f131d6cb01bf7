// A sagalab payment participant in JavaScript (Node 18+), written against docs/participant-protocol.md alone.
//
// The same service as ../payment/payment_service.py, in another language and with another store: both modes
// (events in choreography, commands in orchestration), a JSON file as its store (each change written whole to
// a new file and renamed over the old one: one atomic commit), idempotent by message id and by business step,
// the barrier, and the ledger query. Environment as the Python example: AMQP_URL, SAGALAB_NAMESPACE,
// SAGALAB_MODE, SAGALAB_DATA_DIR, SAGALAB_PARENT_PIPE, and EXAMPLE_DOUBLE_CHARGE=1 to misbehave.

import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import amqp from "amqplib";

const NAME = "payment";
const DECLINED_CARDS = new Set(["4000000000000002"]);
const CARD_LIMIT_CENTS = 1_000_000;
const CHOREOGRAPHY_EVENTS = ["orders.OrderPlaced", "inventory.OutOfStock", "inventory.StockReleased",
  "inventory.StockReleaseFailed"];
const ORCHESTRATION_COMMANDS = ["payment.ChargePayment", "payment.RefundPayment"];
const STEP_OF_TYPE = { OrderPlaced: "charge", ChargePayment: "charge", OutOfStock: "refund", StockReleased: "refund",
  StockReleaseFailed: "refund", RefundPayment: "refund" };
const ENVELOPE = new Set(["message_id", "correlation_id", "causation_id", "occurred_at"]);

const log = (event, fields = {}) => console.log(JSON.stringify({ service: "payment-node-example", event, ...fields }));

// --- the store: one JSON document, replaced atomically ------------------------------------------------------
class Store {
  constructor(path) {
    this.path = path;
    this.state = existsSync(path) ? JSON.parse(readFileSync(path, "utf8"))
      : { charges: [], refunds: [], inbox: {}, steps: {} };
  }
  commit(next) {
    writeFileSync(`${this.path}.tmp`, JSON.stringify(next));
    renameSync(`${this.path}.tmp`, this.path);
    this.state = next;
  }
  ledger(orderIds) {
    const wanted = new Set(orderIds);
    return {
      charges: this.state.charges.filter((c) => wanted.has(c.order_id)),
      refunds: this.state.refunds.filter((r) => wanted.has(r.order_id)),
    };
  }
}

function digest(kind, body) {
  const content = Object.fromEntries(Object.entries(body).filter(([k]) => !["message_id", "occurred_at",
    "causation_id"].includes(k)).sort());
  return createHash("sha256").update(JSON.stringify([kind, content])).digest("hex");
}

function charge(state, order) {
  if (DECLINED_CARDS.has(order.card_number)) return ["PaymentDeclined", { order, reason: "card declined by the issuer" }];
  if (order.amount_cents > CARD_LIMIT_CENTS) return ["PaymentDeclined", { order, reason: "amount over the card's limit" }];
  const paymentId = randomUUID();
  state.charges.push({ order_id: order.order_id, amount_cents: order.amount_cents, payment_id: paymentId });
  if (process.env.EXAMPLE_DOUBLE_CHARGE === "1") {
    state.charges.push({ order_id: order.order_id, amount_cents: order.amount_cents, payment_id: randomUUID() });
  }
  return ["PaymentCharged", { order, payment_id: paymentId, amount_cents: order.amount_cents }];
}

function refund(state, orderId) {
  const charged = state.charges.find((c) => c.order_id === orderId);
  const amount = charged ? charged.amount_cents : 0;
  if (charged) state.refunds.push({ order_id: orderId, amount_cents: amount });
  return ["PaymentRefunded", { order_id: orderId, amount_cents: amount }];
}

const envelope = ([type, fields], cause) => ({ type, body: { message_id: randomUUID(),
  correlation_id: cause.correlation_id, causation_id: cause.message_id, occurred_at: new Date().toISOString(),
  ...fields } });

// --- the service ----------------------------------------------------------------------------------------------
async function main() {
  const url = process.env.AMQP_URL || "amqp://guest:guest@127.0.0.1:5672/";
  const ns = process.env.SAGALAB_NAMESPACE || "sagalab";
  const mode = process.env.SAGALAB_MODE || "";
  const dataDir = process.env.SAGALAB_DATA_DIR || ".";
  mkdirSync(dataDir, { recursive: true });
  const store = new Store(join(dataDir, "payment-node-example.json"));
  const user = new URL(url).username || "guest";

  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  await channel.prefetch(16);
  for (const kind of ["events", "commands", "replies"]) await channel.assertExchange(`${ns}.${kind}`, "topic", { durable: true });
  const queue = `${ns}.${NAME}`;
  await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum",
    "x-dead-letter-exchange": `${ns}.dead-letter`, "x-delivery-limit": 5 } });
  if (mode === "" || mode === "choreography") for (const key of CHOREOGRAPHY_EVENTS) await channel.bindQueue(queue, `${ns}.events`, key);
  if (mode === "" || mode === "orchestration") for (const key of ORCHESTRATION_COMMANDS) await channel.bindQueue(queue, `${ns}.commands`, key);
  await channel.bindQueue(queue, `${ns}.commands`, `${NAME}.QueryLedger`);

  const publish = (exchange, key, reply) => new Promise((resolve, reject) => {
    const b = reply.body;
    channel.publish(`${ns}.${exchange}`, key, Buffer.from(JSON.stringify(b)), { type: reply.type,
      messageId: b.message_id, correlationId: b.correlation_id, appId: NAME, userId: user,
      contentType: "application/json", persistent: true }, (err) => (err ? reject(err) : resolve()));
  });
  const send = (reply, replyTo) => (replyTo ? publish("replies", replyTo, reply)
    : publish("events", `${NAME}.${reply.type}`, reply));

  async function handle(msg, kind, body) {
    const messageId = body.message_id;
    if (!messageId || messageId !== msg.properties.messageId) return channel.reject(msg, false); // rule 7
    const step = STEP_OF_TYPE[kind];
    const orderId = body.order ? body.order.order_id : body.order_id;
    const replyTo = msg.properties.replyTo;
    const s = store.state;
    if (step === "charge" && s.steps[`${orderId}|refund`]) { // rule 6, the barrier, before the inbox
      await send(envelope(["PaymentDeclined", { order: body.order, reason: "refund already recorded: charge refused" }], body), replyTo);
      return channel.ack(msg);
    }
    const seen = s.inbox[messageId];
    if (seen) { // rule 2: answer a repeat with the stored reply
      if (seen.digest !== digest(kind, body)) return channel.reject(msg, false);
      if (replyTo && seen.reply) await publish("replies", replyTo, seen.reply);
      return channel.ack(msg);
    }
    const next = structuredClone(s);
    const first = s.steps[`${orderId}|${step}`];
    let reply = null;
    if (first) { // rule 5: the step was done under another id: answer with its first outcome
      const fields = Object.fromEntries(Object.entries(first.reply.body).filter(([k]) => !ENVELOPE.has(k)));
      reply = replyTo ? envelope([first.reply.type, fields], body) : null;
    } else {
      reply = envelope(step === "charge" ? charge(next, body.order) : refund(next, orderId), body);
      next.steps[`${orderId}|${step}`] = { message_id: messageId, reply };
    }
    next.inbox[messageId] = { digest: digest(kind, body), reply };
    store.commit(next); // the effect, the inbox row and the business key, in one atomic write
    if (reply && (replyTo || !first)) await send(reply, replyTo);
    channel.ack(msg); // rule 4: ack last
    log("handled", { type: kind, order_id: orderId, answer: reply && reply.type });
  }

  async function answerLedger(msg, query) {
    if (!msg.properties.replyTo) return channel.reject(msg, false);
    const report = { type: "LedgerReport", body: { message_id: randomUUID(), correlation_id: query.correlation_id,
      causation_id: query.message_id, occurred_at: new Date().toISOString(), participant: NAME,
      ...store.ledger(query.order_ids || []) } };
    await publish("replies", msg.properties.replyTo, report);
    channel.ack(msg);
  }

  let turn = Promise.resolve(); // one delivery at a time: the store has one writer
  await channel.consume(queue, (msg) => {
    turn = turn.then(async () => {
      let body;
      try {
        body = JSON.parse(msg.content.toString("utf8"));
        if (typeof body !== "object" || body === null || !msg.properties.type) throw new Error("not a typed JSON object");
      } catch (err) {
        log("dead-lettered", { reason: String(err) });
        return channel.reject(msg, false);
      }
      try {
        const kind = msg.properties.type;
        if (kind === "QueryLedger") return await answerLedger(msg, body);
        if (STEP_OF_TYPE[kind]) return await handle(msg, kind, body);
        log("dead-lettered", { reason: `no handler for ${kind}` });
        return channel.reject(msg, false);
      } catch (err) {
        log("failed", { error: String(err) });
        channel.nack(msg, false, true); // requeued; the queue's delivery limit dead-letters it after 5
      }
    });
  }, { noAck: false });
  log("ready", { namespace: ns, mode: mode || "both" });

  const stop = async () => {
    await turn;
    await connection.close();
    log("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  if (process.env.SAGALAB_PARENT_PIPE === "1") { // the runner is gone when its pipe closes
    process.stdin.on("end", stop);
    process.stdin.resume();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
