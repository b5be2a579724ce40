// A strict CSMS for the test suite: ocpp-rpc's RPCServer with strictMode on, for one OCPP
// subprotocol (ocpp1.6 or ocpp2.0.1), driven by a Python process over stdin/stdout.
//
// Owns the websocket server and ocpp-rpc's schema validation (ajv with formats, the
// package's own copies of the official schemas), in both directions: the charge point's
// CALLs and CALLRESULTs, and this CSMS's CALLs and answers. It decides nothing itself:
// handshakes and answers to the charge point's CALLs are asked of the Python side
// (tests/support/strict_csms.py), which keeps the ledger. It never fixes up or drops a
// frame silently: every frame, every strict-mode validation failure and every bad message
// is reported.
//
// Protocol (one JSON object per line).
//   stdout (events): listening, frame, connected, disconnected, auth?, ask, answered,
//     strict_failure, bad_message, reply, log.
//   stdin (operations): call, send_raw, disconnect, answer, auth_answer, stop.
// With --log FILE every event is also appended to FILE (JSON lines).
'use strict';

const fs = require('fs');
const readline = require('readline');
const { RPCServer, createRPCError } = require('ocpp-rpc');

const MSG_CALLRESULT = 3;
const MSG_CALLERROR = 4;

function parseArgs(argv) {
    const args = { host: '127.0.0.1', port: 0, subprotocol: 'ocpp1.6', log: null };
    for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i].replace(/^--/, '');
        if (!(key in args)) {
            throw new Error(`unknown option ${argv[i]}`);
        }
        args[key] = key === 'port' ? Number(argv[i + 1]) : argv[i + 1];
    }
    return args;
}

const args = parseArgs(process.argv.slice(2));
const logFile = args.log ? fs.openSync(args.log, 'a') : null;

function emit(event) {
    const line = JSON.stringify({ time: Date.now() / 1000, ...event });
    process.stdout.write(line + '\n');
    if (logFile !== null) {
        fs.writeSync(logFile, line + '\n');
    }
}

function errorInfo(err) {
    return { code: err.rpcErrorCode || err.name || 'Error', message: String(err.message || err) };
}

function peekFrame(text) {
    try {
        const msg = JSON.parse(text);
        return Array.isArray(msg) ? msg : null;
    } catch (e) {
        return null;
    }
}

// -- asking the Python side ---------------------------------------------------------------
let nextAsk = 1;
const asks = new Map();   // ask id -> resolve

function ask(event) {
    const id = nextAsk++;
    return new Promise((resolve) => {
        asks.set(id, resolve);
        emit({ ...event, ask: id });
    });
}

// -- stations -------------------------------------------------------------------------------
const inboundErrors = new Map();   // unique id of a CSMS CALL -> the station's CALLERROR frame
let nextConnection = 1;
const stations = new Map();   // cp_id -> {client, connection, rawWaiter, rawIds}

function station(cpId) {
    const st = stations.get(cpId);
    if (!st) {
        throw new Error(`station '${cpId}' is not connected to the strict CSMS`);
    }
    return st;
}

function attach(client) {
    const cpId = client.identity;
    const connection = nextConnection++;
    const st = { client, connection, rawWaiter: null, rawIds: new Set(), pendingIds: new Set() };
    stations.set(cpId, st);
    const raw = client.handshake.request.rawHeaders;
    const headers = {};
    for (let i = 0; i < raw.length; i += 2) {
        headers[raw[i]] = raw[i + 1];
    }
    emit({
        event: 'connected', cp_id: cpId, connection, subprotocol: client.protocol,
        path: client.handshake.request.url, headers,
    });

    client.on('call', ({ outbound, payload }) => {
        if (outbound) {
            st.pendingIds.add(payload[1]);      // a CALL of this CSMS: its reply is not send_raw's
        }
    });

    client.on('message', ({ message, outbound }) => {
        const text = message.toString();
        emit({ event: 'frame', cp_id: cpId, direction: outbound ? 'out' : 'in', text });
        if (outbound) {
            return;
        }
        const frame = peekFrame(text);
        const waiter = st.rawWaiter;
        if (frame && (frame[0] === MSG_CALLRESULT || frame[0] === MSG_CALLERROR) && waiter
                && !st.pendingIds.has(frame[1])) {
            st.rawWaiter = null;
            st.rawIds.add(frame[1]);
            waiter(text);
        }
    });

    // The answer this CSMS actually sent to a CALL of the station (after strict checks),
    // and the station's CALLERRORs to this CSMS's CALLs with their exact code and text
    // (ocpp-rpc maps codes it does not know to GenericError).
    client.on('response', ({ outbound, payload }) => {
        const [type, uniqueId, ...rest] = payload;
        if (!outbound) {
            st.pendingIds.delete(uniqueId);
            if (type === MSG_CALLERROR) {
                inboundErrors.set(uniqueId, payload);
            }
            return;
        }
        if (type === MSG_CALLRESULT) {
            emit({ event: 'answered', cp_id: cpId, unique_id: uniqueId, response: rest[0] });
        } else {
            emit({ event: 'answered', cp_id: cpId, unique_id: uniqueId, error: rest[0], description: rest[1] });
        }
    });

    client.on('strictValidationFailure', ({ messageId, method, params, result, error, outbound, isCall }) => {
        error.strictSender = outbound ? 'csms' : 'station';
        emit({
            event: 'strict_failure', cp_id: cpId, unique_id: messageId, action: method,
            sender: outbound ? 'csms' : 'station', message: isCall ? 'call' : 'result',
            ...errorInfo(error), errors: error.details && error.details.errors,
            data: isCall ? params : result,
        });
    });

    client.on('badMessage', ({ buffer, error, response }) => {
        const text = buffer.toString();
        const frame = peekFrame(text);
        const expected = frame !== null && st.rawIds.has(frame[1]);   // a reply to send_raw
        emit({ event: expected ? 'raw_reply' : 'bad_message', cp_id: cpId, text, ...errorInfo(error), reply: response });
    });

    // Tag the error a CALL of this CSMS is rejected with, to find the CALLERROR frame.
    client.on('callError', ({ outbound, messageId, error }) => {
        if (outbound) {
            error.messageId = messageId;
        }
    });

    client.handle(async ({ method, params, messageId }) => {
        const answer = await ask({ event: 'ask', cp_id: cpId, action: method, payload: params, unique_id: messageId });
        if (answer.error) {
            const err = createRPCError(answer.error.code, answer.error.description, answer.error.details);
            err.rpcErrorCode = answer.error.code;   // keep the exact spelling asked for
            throw err;
        }
        return answer.result;
    });

    client.once('close', ({ code, reason }) => {
        if (stations.get(cpId) === st) {
            stations.delete(cpId);
        }
        emit({ event: 'disconnected', cp_id: cpId, connection, code, reason: String(reason || '') });
    });
}

// -- operations from the Python side --------------------------------------------------------

async function opCall({ cp_id: cpId, action, payload, timeout_ms: timeoutMs }) {
    const { client } = station(cpId);
    try {
        return { result: await client.call(action, payload, { callTimeoutMs: timeoutMs }) };
    } catch (err) {
        if (err.strictSender) {
            return { error: { kind: 'strict', sender: err.strictSender, ...errorInfo(err), details: err.details } };
        }
        if (err.constructor && err.constructor.name === 'TimeoutError') {
            return { error: { kind: 'timeout', message: `no reply to ${action} within ${timeoutMs} ms` } };
        }
        const frame = err.messageId !== undefined ? inboundErrors.get(err.messageId) : undefined;
        if (frame) {
            inboundErrors.delete(err.messageId);
            return { error: { kind: 'call_error', code: frame[2], description: frame[3], details: frame[4] } };
        }
        return { error: { kind: 'failure', ...errorInfo(err) } };
    }
}

function opSendRaw({ cp_id: cpId, text, expect_reply: expectReply, timeout_ms: timeoutMs }) {
    const st = station(cpId);
    const frame = peekFrame(text);
    st.rawIds.add(frame && frame.length > 1 ? frame[1] : '-1');
    if (!expectReply) {
        st.client.sendRaw(text);
        return Promise.resolve({ result: null });
    }
    return new Promise((resolve) => {
        const timer = setTimeout(() => {
            st.rawWaiter = null;
            resolve({ error: { kind: 'timeout', message: `no reply within ${timeoutMs} ms` } });
        }, timeoutMs);
        st.rawWaiter = (reply) => {
            clearTimeout(timer);
            resolve({ result: reply });
        };
        st.client.sendRaw(text);
    });
}

async function opDisconnect({ cp_id: cpId, code, abort }) {
    const { client } = station(cpId);
    await client.close(abort ? { force: true } : { code });
    return { result: null };
}

const server = new RPCServer({
    protocols: [args.subprotocol],
    strictMode: true,
    pingIntervalMs: 0,            // like the other test CSMS: no keep-alive pings of its own
    callTimeoutMs: 30000,
    respondWithDetailedErrors: false,
});

server.auth(async (accept, reject, handshake) => {
    const decision = await ask({
        event: 'auth', cp_id: handshake.identity, endpoint: handshake.endpoint,
        authorization: handshake.headers.authorization || '',
    });
    if (decision.accept) {
        accept();
    } else {
        reject(decision.status, decision.text);
    }
});

server.on('client', attach);
server.on('error', (err) => emit({ event: 'log', message: `server error: ${err.message}` }));

async function handle(op) {
    switch (op.op) {
        case 'answer':
        case 'auth_answer': {
            const resolve = asks.get(op.ask);
            asks.delete(op.ask);
            if (resolve) {
                resolve(op);
            }
            return null;
        }
        case 'call':
            return opCall(op);
        case 'send_raw':
            return opSendRaw(op);
        case 'disconnect':
            return opDisconnect(op);
        case 'stop':
            await server.close({ code: 1001, force: false });
            return { result: null };
        default:
            throw new Error(`unknown operation ${op.op}`);
    }
}

async function main() {
    const http = await server.listen(args.port, args.host);
    emit({ event: 'listening', port: http.address().port, subprotocol: args.subprotocol });

    const lines = readline.createInterface({ input: process.stdin });
    lines.on('line', (line) => {
        let op;
        try {
            op = JSON.parse(line);
        } catch (err) {
            emit({ event: 'log', message: `unreadable operation: ${line}` });
            return;
        }
        handle(op).then((reply) => {
            if (reply !== null && op.req !== undefined) {
                emit({ event: 'reply', req: op.req, ...reply });
            }
            if (op.op === 'stop') {
                process.exit(0);
            }
        }, (err) => {
            if (op.req !== undefined) {
                emit({ event: 'reply', req: op.req, error: { kind: 'failure', ...errorInfo(err) } });
            }
        });
    });
    lines.on('close', () => {          // the Python side went away: so do we
        server.close({ force: true }).finally(() => process.exit(0));
    });
}

main().catch((err) => {
    emit({ event: 'log', message: `cannot start: ${err.stack || err}` });
    process.exit(1);
});
