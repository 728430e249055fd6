// processor: the polling and the one custom metric of seed004.yml. "return_to_paid" is the
// time from the shop's answer to the PG return (CONFIRMING committed) to the poll that saw
// PAID, in ms (a histogram in Artillery's report, beside its own response times); an order
// not PAID after MAX_POLLS polls counts as "orders.not_paid".
'use strict';

const MAX_POLLS = 200;     // x POLL_MS: 10 s
const POLL_MS = 50;

function markReturned(req, res, context, events, next) {
  context.vars.returnedAt = Date.now();
  context.vars.polls = 0;
  return next();
}

function notPaidYet(context, next) {
  const go = context.vars.status !== 'PAID' && context.vars.polls < MAX_POLLS;
  return next(go);
}

function pauseIfNotPaid(context, events, next) {
  context.vars.polls += 1;
  if (context.vars.status === 'PAID')
    return next();
  return setTimeout(next, POLL_MS);
}

function recordPaid(context, events, next) {
  if (context.vars.status === 'PAID') {
    events.emit('histogram', 'return_to_paid', Date.now() - context.vars.returnedAt);
    events.emit('counter', 'orders.paid', 1);
  } else {
    events.emit('counter', 'orders.not_paid', 1);
  }
  return next();
}

module.exports = { markReturned, notPaidYet, pauseIfNotPaid, recordPaid };
