// The sandbox's bridge to aws-local-stepfunctions: one long-lived Node process
// per sandbox runs executions for Go, speaking JSON lines on stdin/stdout.
//
// Go -> bridge:
//   {op:"validate", id, definition}
//   {op:"start", id, definition, input, context, limit}
//   {op:"stop", id}
//   {op:"taskResult", id, call, output} | {op:"taskResult", id, call, error, cause}
// bridge -> Go:
//   {op:"validated", id, problems:[...]}
//   {op:"event", id, event}          the interpreter's event log, in order
//   {op:"task", id, call, state, input}  a Task state wants its resource run
//   {op:"done", id}                  no more events will follow
//   {op:"fatal", message}            the bridge cannot work at all
//
// Why the tricks below:
// - Node 20 lacks Promise.withResolvers, which the library calls.
// - setTimeout fires at once for delays past 2^31-1 ms; AWS's Task default
//   (99999999 s) and long Wait states need it to wait for real.
// - The library sets only $$.Execution.Input/StartTime; $$.State is kept
//   current through a Proxy on the definition's States (read on each state
//   entry) and on each state (its "InputPath" is checked once per attempt).
// - A loop of Pass/Choice states never yields to the event loop, so the
//   bridge ends an execution whose state entries pass `limit` (Go fails it
//   earlier, at AWS's 25,000 history events).

import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const MAX_TIMER = 2 ** 31 - 1;
const nativeSetTimeout = globalThis.setTimeout;
const nativeClearTimeout = globalThis.clearTimeout;
class LongTimer {
  constructor(fn, ms, args) {
    this.due = Date.now() + ms;
    this.fn = fn;
    this.args = args;
    this.step();
  }
  step() {
    const left = this.due - Date.now();
    this.timer = left > MAX_TIMER ? nativeSetTimeout(() => this.step(), MAX_TIMER) : nativeSetTimeout(this.fn, left, ...this.args);
  }
}
globalThis.setTimeout = (fn, ms, ...args) => (ms > MAX_TIMER ? new LongTimer(fn, ms, args) : nativeSetTimeout(fn, ms, ...args));
globalThis.clearTimeout = (t) => nativeClearTimeout(t instanceof LongTimer ? t.timer : t);

const modules = process.env.STACKERLESS_NODE_MODULES;
const lib = (name, file) => import(pathToFileURL(join(modules, name, file)).href);

function send(msg) {
  process.stdout.write(JSON.stringify(msg) + "\n");
}

let StateMachine, JSONPath;
try {
  ({ StateMachine } = await lib("aws-local-stepfunctions", "build/main.node.esm.js"));
  ({ JSONPath } = await lib("jsonpath-plus", "dist/index-node-esm.js"));
} catch (err) {
  send({ op: "fatal", message: `load aws-local-stepfunctions from ${modules}: ${err.message}` });
  process.exit(1);
}

const executions = new Map();

// flush lets the library's event generator hand over what it has queued, so
// events reach Go before a task request made in the same tick.
const flush = () => new Promise((resolve) => setImmediate(resolve));

function validate(msg) {
  try {
    new StateMachine(msg.definition);
    send({ op: "validated", id: msg.id, problems: [] });
  } catch (err) {
    const problems = String(err.message)
      .split("\n")
      .slice(1)
      .map((s) => s.trim())
      .filter(Boolean);
    send({ op: "validated", id: msg.id, problems: problems.length ? problems : [String(err.message)] });
  }
}

// taskStates lists the Task state names of a definition, nested ones too.
function taskStates(def, out = []) {
  for (const [name, st] of Object.entries(def.States ?? {})) {
    if (st.Type === "Task") out.push(name);
    for (const branch of st.Branches ?? []) taskStates(branch, out);
    const proc = st.ItemProcessor ?? st.Iterator;
    if (proc) taskStates(proc, out);
  }
  return out;
}

function query(path, json) {
  if (path === undefined) return json;
  if (path === null) return {};
  return JSONPath({ path, json, wrap: false });
}

// mapLength is the number of items a Map state iterates over (MapStateStarted's length).
function mapLength(stateDef, input) {
  try {
    const items = query(stateDef.ItemsPath ?? "$", query(stateDef.InputPath, input));
    return Array.isArray(items) ? items.length : 0;
  } catch {
    return 0;
  }
}

function start(msg) {
  const exec = { id: msg.id, calls: new Map(), nextCall: 0, stopped: false, run: null };
  executions.set(msg.id, exec);
  const def = msg.definition;
  // The original definition, read by the bridge itself (reads through the
  // proxies below count as state entries).
  const plainDef = structuredClone(def);
  let machine;
  try {
    machine = new StateMachine(def, { validationOptions: { noValidate: true } });
  } catch (err) {
    send({ op: "event", id: msg.id, event: { type: "ExecutionFailed", timestamp: Date.now(), Error: "States.Runtime", Cause: err.message } });
    finish(exec);
    return;
  }

  const current = { Name: "", EnteredTime: "", RetryCount: 0, attempts: 0 };
  const state = {
    get Name() {
      return current.Name;
    },
    get EnteredTime() {
      return current.EnteredTime;
    },
    get RetryCount() {
      return current.RetryCount;
    },
  };
  let entries = 0;
  const countEntry = () => {
    if (++entries > msg.limit) {
      const err = new Error(`The execution entered more than ${msg.limit} states.`);
      err.name = "States.Runtime";
      throw err;
    }
  };
  // Nested machines (Map iterations, Parallel branches) count their entries
  // too, so a loop inside them ends as well.
  for (const st of Object.values(def.States)) countNested(st, countEntry);
  const states = {};
  for (const [name, st] of Object.entries(def.States)) {
    states[name] = new Proxy(st, {
      has(target, key) {
        if (key === "InputPath") {
          current.RetryCount = current.attempts++;
        }
        return key in target;
      },
    });
  }
  def.States = new Proxy(states, {
    get(target, key) {
      if (typeof key === "string" && Object.hasOwn(target, key)) {
        countEntry();
        current.Name = key;
        current.EnteredTime = new Date().toISOString();
        current.RetryCount = 0;
        current.attempts = 0;
      }
      return target[key];
    },
  });

  const handlers = {};
  for (const name of taskStates(plainDef)) {
    handlers[name] = async (input) => {
      await flush();
      if (exec.stopped) return new Promise(() => {});
      const call = exec.nextCall++;
      const { promise, resolve, reject } = Promise.withResolvers();
      exec.calls.set(call, { resolve, reject });
      send({ op: "task", id: exec.id, call, state: name, input });
      return promise;
    };
  }

  const context = { ...msg.context, State: state };
  exec.run = machine.run(msg.input, {
    overrides: { taskResourceLocalHandlers: handlers },
    noThrowOnAbort: true,
    context,
  });
  exec.run.result.catch(() => {}); // failures arrive as events
  (async () => {
    try {
      for await (const event of exec.run.eventLogs) {
        if (event.type === "StateEntered" && event.state.type === "Map") {
          event.length = mapLength(findState(plainDef, event.state.name), event.state.input);
        }
        send({ op: "event", id: exec.id, event: plain(event) });
      }
    } finally {
      finish(exec);
    }
  })();
}

// countNested makes the machines nested in a state call count on each state entry.
function countNested(st, count) {
  const machines = [...(st.Branches ?? [])];
  if (st.ItemProcessor) machines.push(st.ItemProcessor);
  if (st.Iterator) machines.push(st.Iterator);
  for (const m of machines) {
    for (const inner of Object.values(m.States ?? {})) countNested(inner, count);
    m.States = new Proxy(m.States ?? {}, {
      get(target, key) {
        if (typeof key === "string" && Object.hasOwn(target, key)) count();
        return target[key];
      },
    });
  }
}

// findState finds a state definition by name anywhere in a definition.
function findState(def, name) {
  for (const [n, st] of Object.entries(def.States ?? {})) {
    if (n === name) return st;
    for (const branch of st.Branches ?? []) {
      const found = findState(branch, name);
      if (found) return found;
    }
    const proc = st.ItemProcessor ?? st.Iterator;
    const found = proc && findState(proc, name);
    if (found) return found;
  }
  return {};
}

// plain keeps what Go reads of an event; a Cause that is not a string (an
// error object from the library) is turned into one.
function plain(event) {
  const out = { type: event.type, timestamp: event.timestamp };
  if (event.state) out.state = { name: event.state.name, type: event.state.type, input: event.state.input, output: event.state.output };
  if (event.parentState) out.parentState = { name: event.parentState.name, type: event.parentState.type };
  for (const k of ["input", "output", "index", "length", "Error"]) {
    if (event[k] !== undefined) out[k] = event[k];
  }
  if (event.Cause !== undefined) out.Cause = typeof event.Cause === "string" ? event.Cause : event.Cause?.message ?? JSON.stringify(event.Cause);
  return out;
}

function finish(exec) {
  if (!executions.has(exec.id)) return;
  executions.delete(exec.id);
  send({ op: "done", id: exec.id });
}

function stop(msg) {
  const exec = executions.get(msg.id);
  if (!exec) return;
  exec.stopped = true;
  exec.calls.clear();
  exec.run?.abort();
}

function taskResult(msg) {
  const exec = executions.get(msg.id);
  const pending = exec?.calls.get(msg.call);
  if (!pending) return; // the task timed out, or the execution stopped
  exec.calls.delete(msg.call);
  if (msg.error !== undefined) {
    const err = new Error(msg.cause ?? "");
    err.name = msg.error;
    pending.reject(err);
  } else {
    pending.resolve(msg.output);
  }
}

const ops = { validate, start, stop, taskResult };
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    send({ op: "fatal", message: `bad request from Go: ${err.message}` });
    return;
  }
  const op = ops[msg.op];
  if (!op) {
    send({ op: "fatal", message: `unknown op ${msg.op}` });
    return;
  }
  op(msg);
});
lines.on("close", () => process.exit(0));
send({ op: "ready" });
