'use strict'
// The pool deadlock guard's memory: which managers the code running now holds a client of.
// executeTransaction runs its callback inside a hold; getClient() marks the async context that
// called it. A manager asked for a connection by code that holds one of its own checks out
// without waiting: when none is free, waiting could mean waiting for itself, so it fails at once
// with POOL_DEADLOCK. Code that holds nothing only pays for one getStore().
//
// The price: on Node 20, AsyncLocalStorage runs async hooks for every promise of the process
// from its first use on. They cost W4 of the benchmark (a transaction of two queries) about 10 µs
// of CPU and a tenth of its rate (docs/internals.md), which is why the transaction path makes
// as few promises as it can.

const { AsyncLocalStorage } = require('node:async_hooks')

const storage = new AsyncLocalStorage()

const PENDING = 0
const HELD = 1
const RELEASED = 2

/** One client's hold on one manager, chained to the holds in force where it was taken. */
class Hold {
  state = PENDING

  constructor(manager, parent) {
    this.manager = manager
    this.parent = parent
  }

  held() {
    this.state = HELD
  }

  released() {
    this.state = RELEASED
  }
}

/** Whether code running now holds a client of `manager`. */
function holds(manager) {
  for (let hold = storage.getStore(); hold !== undefined; hold = hold.parent) {
    if (hold.state === HELD && hold.manager === manager) return true
  }
  return false
}

/** A hold on `manager` for the code running now; released holds drop out of the chain. */
function newHold(manager) {
  let parent = storage.getStore()
  while (parent !== undefined && parent.state === RELEASED) parent = parent.parent
  return new Hold(manager, parent)
}

/** Marks the calling async context, and all it starts from now on, as holding `hold`. */
function enterHold(hold) {
  storage.enterWith(hold)
}

/** Runs `fn` with `hold` in force for it and all it starts. */
function runHolding(hold, fn, ...args) {
  return storage.run(hold, fn, ...args)
}

module.exports = { holds, newHold, enterHold, runHolding }
